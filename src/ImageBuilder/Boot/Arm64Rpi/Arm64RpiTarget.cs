// arm64-rpi: Raspberry Pi 3, 4 and 400 (and Pi 5 when the OS image has its device tree) in 64-bit mode.
using Appliance.ImageBuilder.Boot.RaspberryPi;

namespace Appliance.ImageBuilder.Boot.Arm64Rpi;

/// <summary>Raspberry Pi 64-bit: <c>arm_64bit=1</c>, the arm64 kernel, bcm2837/bcm2711 (and bcm2712) device trees.</summary>
public sealed class Arm64RpiTarget : RaspberryPiTarget
{
    /// <inheritdoc/>
    protected override bool Arm64 => true;
    /// <inheritdoc/>
    protected override IReadOnlyList<string> DeviceTreePrefixes { get; } = ["bcm2837-", "bcm2710-", "bcm2711-", "bcm2712-"];
}
