//! hardware: the virtual hardware version read back, upgraded when the
//! pipeline allows it (which needs the VM powered off).

use super::clone::power_name;
use super::Build;
use crate::pipeline::config::HardwareOptions;
use crate::pipeline::error::StageError;
use crate::pipeline::target::MIN_HARDWARE_VERSION;
use crate::vsphere::wire::{HardwareVersion, PowerState};

pub async fn run(b: &mut Build<'_>, o: &HardwareOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let min = o
        .min_version
        .unwrap_or(MIN_HARDWARE_VERSION)
        .max(MIN_HARDWARE_VERSION);
    let read = |what: &'static str| StageError::vsphere(format!("{what} of {vm}"));
    let mut hw = b
        .client
        .hardware(&vm)
        .await
        .map_err(read("read the hardware version"))?;
    let mut upgraded = false;
    if hw.version.0 < min && o.upgrade {
        // Upgrading needs a powered-off VM; the fresh clone has nothing to lose.
        let power = b
            .client
            .power(&vm)
            .await
            .map_err(read("read the power state"))?;
        if power.state != PowerState::PoweredOff {
            b.client.power_off(&vm).await.map_err(read("power off"))?;
        }
        b.client
            .upgrade_hardware(&vm, Some(HardwareVersion(min)))
            .await
            .map_err(read("upgrade the hardware"))?;
        b.client.power_on(&vm).await.map_err(read("power on"))?;
        let power = b
            .client
            .power(&vm)
            .await
            .map_err(read("read the power state"))?;
        b.checks.expect_eq(
            "powered on after the upgrade",
            "POWERED_ON",
            power_name(power.state),
        )?;
        hw = b
            .client
            .hardware(&vm)
            .await
            .map_err(read("read the hardware version"))?;
        upgraded = true;
    }
    b.checks.expect(
        "virtual hardware version",
        format!(
            ">= vmx-{min:02}{}",
            if o.upgrade { "" } else { " (upgrade: false)" }
        ),
        format!("vmx-{:02}", hw.version.0),
        hw.version.0 >= min,
    )?;
    b.facts.hardware_version = Some(hw.version.0);
    Ok(format!(
        "vmx-{:02}{}",
        hw.version.0,
        if upgraded { " (upgraded)" } else { "" }
    ))
}
