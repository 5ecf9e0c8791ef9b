// The clock floor: build.json's sourceDateEpoch read, and the clock moved only when it is behind.
using Appliance.Firstboot.Steps;

namespace Appliance.Firstboot.Tests.Steps;

/// <summary><see cref="ClockFloor"/> without touching the host's clock (set: false).</summary>
[Trait("Category", "Unit")]
public sealed class ClockFloorTests
{
    /// <summary>A clock in 1970 is moved to the build time; a clock past it is left alone.</summary>
    [Fact]
    public void OnlyAClockBehindTheBuildTime_IsMoved()
    {
        using var dir = new TempDir("clock-");
        var json = dir.Write("build.json", "{\"runtime\":\"v1\",\"sourceDateEpoch\":1700000000}\n");
        long floor = ClockFloor.BuildEpoch(json)!.Value;
        Assert.Equal(1700000000, floor);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), ClockFloor.Apply(floor, DateTimeOffset.FromUnixTimeSeconds(0), set: false));
        Assert.Null(ClockFloor.Apply(floor, DateTimeOffset.FromUnixTimeSeconds(1700000000), set: false));
        Assert.Null(ClockFloor.Apply(floor, DateTimeOffset.FromUnixTimeSeconds(1800000000), set: false));
        Assert.Null(ClockFloor.BuildEpoch(dir["missing.json"]));
        var bad = dir.Write("bad.json", "{\"sourceDateEpoch\":\"soon\"}");
        Assert.Contains("sourceDateEpoch is not a number", Assert.Throws<InvalidDataException>(() => ClockFloor.BuildEpoch(bad)).Message);
    }
}
