// appliance.mode= on the kernel command line: absent is the disk boot; live and install; anything else refused.
namespace Appliance.Firstboot.Tests.Steps;

[Trait("Category", "Unit")]
public sealed class BootModeTests
{
    [Theory]
    [InlineData(null, BootMode.Disk)]
    [InlineData("console=ttyS0 appliance.slot=a quiet\n", BootMode.Disk)]
    [InlineData("console=ttyS0 appliance.mode=live\n", BootMode.Live)]
    [InlineData("appliance.mode=install console=ttyS0", BootMode.Install)]
    public void Read_TheMode(string? cmdline, BootMode expected)
    {
        using var dir = new TempDir("cmdline-");
        var file = dir["cmdline"];
        if (cmdline is not null) File.WriteAllText(file, cmdline);
        Assert.Equal(expected, BootModes.Read(file));
    }

    [Fact]
    public void Read_RefusesAnUnknownMode()
    {
        using var dir = new TempDir("cmdline-");
        var file = dir.Write("cmdline", "appliance.mode=rescue\n");
        var e = Assert.Throws<InvalidDataException>(() => BootModes.Read(file));
        Assert.Equal($"{file}: appliance.mode=rescue: expected live or install", e.Message);
    }
}
