//! unattend.xml: templates, rendering and the linter.
