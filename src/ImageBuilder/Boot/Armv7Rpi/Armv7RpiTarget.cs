// armv7-rpi: Raspberry Pi 2 and 3 in 32-bit mode, with the armmp kernel.
using Appliance.ImageBuilder.Boot.RaspberryPi;

namespace Appliance.ImageBuilder.Boot.Armv7Rpi;

/// <summary>Raspberry Pi 32-bit: the armmp kernel with bcm2836/bcm2837 (and bcm2711) device trees; the ARMv6 Pi 1/Zero are not supported by armmp.</summary>
public sealed class Armv7RpiTarget : RaspberryPiTarget
{
    /// <inheritdoc/>
    protected override bool Arm64 => false;
    /// <inheritdoc/>
    protected override IReadOnlyList<string> DeviceTreePrefixes { get; } = ["bcm2836-", "bcm2837-", "bcm2711-"];
}
