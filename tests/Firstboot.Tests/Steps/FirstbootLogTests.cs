// The log on DATA stays bounded: rotated at MaxBytes, Keep old files, the oldest dropped.
namespace Appliance.Firstboot.Tests.Steps;

/// <summary><see cref="FirstbootLog"/> rotation and the move from /run to DATA.</summary>
[Trait("Category", "Unit")]
public sealed class FirstbootLogTests
{
    /// <summary>The run file's lines move to DATA; past 1 MiB the file rotates, and no more than Keep old files remain.</summary>
    [Fact]
    public void Log_MovesToData_AndRotatesBounded()
    {
        using var dir = new TempDir("log-");
        var log = new FirstbootLog(TextWriter.Null, dir["run/firstboot.log"]);
        log.Info("before DATA");
        log.MoveTo(dir["data/logs/firstboot.log"]);
        Assert.False(File.Exists(dir["run/firstboot.log"]));
        Assert.Contains("before DATA", File.ReadAllText(dir["data/logs/firstboot.log"]));
        var line = new string('x', 1000);
        for (int i = 0; i < 6 * 1100; i++) log.Info(line);
        var files = Directory.GetFiles(dir["data/logs"]).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["firstboot.log", "firstboot.log.1", "firstboot.log.2", "firstboot.log.3"], files);
        foreach (var f in Directory.GetFiles(dir["data/logs"]))
            Assert.True(new FileInfo(f).Length <= FirstbootLog.MaxBytes + 2000, $"{f}: {new FileInfo(f).Length} bytes");
    }
}
