fn main() -> std::process::ExitCode {
    gild::cli::main()
}
