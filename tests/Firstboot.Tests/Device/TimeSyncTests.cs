// The SNTP client against a real NTP server (chronyd on a loopback port, not touching the host's clock).
using System.Diagnostics;
using Appliance.Firstboot.Device;

namespace Appliance.Firstboot.Tests.Device;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TimeSyncTests
{
    const string Chronyd = "/usr/sbin/chronyd";
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>chronyd serving its (the host's) time on 127.0.0.1:PORT; -x: it never sets the clock itself.</summary>
    static async Task<(ChildProcess Process, int Port)> StartChronydAsync(TempDir dir)
    {
        Assert.SkipUnless(File.Exists(Chronyd), "chrony is not installed (.ci/packages.d/firstboot-device.txt)");
        int port = RealRuntime.FreePort();
        var conf = dir.Write("chrony.conf", $"""
            port {port}
            bindaddress 127.0.0.1
            allow 127.0.0.1
            local stratum 8
            cmdport 0
            pidfile {dir["chronyd.pid"]}
            driftfile {dir["drift"]}

            """);
        var p = ProcessRunner.Start(Chronyd, ["-d", "-x", "-u", "root", "-f", conf]);
        // chronyd answers as soon as its socket is bound; wait until a query gets through.
        var probe = new TimeSync([$"127.0.0.1:{port}"], _ => { }, new TimeSyncOptions { SetClock = _ => { } });
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await probe.QueryAsync($"127.0.0.1:{port}", Ct);
                return (p, port);
            }
            catch (Exception e) when (e is TimeoutException or InvalidDataException or System.Net.Sockets.SocketException)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30) || p.HasExited)
                {
                    p.Dispose();
                    Assert.Fail($"chronyd did not answer: {e.Message}\n{p.Out}\n{p.Error}");
                }
                await Task.Delay(200, Ct);
            }
        }
    }

    [Fact]
    public async Task Query_OfARealNtpServer_GivesASmallOffset_AndAClockInStepIsLeftAlone()
    {
        using var dir = new TempDir("fb-ntp-");
        var (chronyd, port) = await StartChronydAsync(dir);
        using var _ = chronyd;
        var set = new List<DateTimeOffset>();
        var sync = new TimeSync([$"127.0.0.1:{port}"], _ => { }, new TimeSyncOptions { SetClock = set.Add });
        var sample = await sync.SyncOnceAsync(Ct);
        Assert.NotNull(sample);
        Assert.InRange(sample.Offset.TotalSeconds, -0.25, 0.25); // the same clock on both ends
        Assert.InRange(sample.Stratum, 1, 15);
        Assert.Empty(set);
        Assert.Null(sync.LastProblem);
    }

    [Fact]
    public async Task ClockAnHourBehind_IsSteppedToTheServersTime()
    {
        using var dir = new TempDir("fb-ntp-");
        var (chronyd, port) = await StartChronydAsync(dir);
        using var _ = chronyd;
        // The device's clock reads an hour early (a Pi without RTC); the host's real clock stays as it is.
        var set = new List<DateTimeOffset>();
        var lines = new List<string>();
        var sync = new TimeSync(["127.0.0.1:1", $"127.0.0.1:{port}"], lines.Add, new TimeSyncOptions
        {
            Now = () => DateTimeOffset.UtcNow.AddHours(-1),
            SetClock = set.Add,
            QueryTimeout = TimeSpan.FromSeconds(1),
        });
        var sample = await sync.SyncOnceAsync(Ct);
        Assert.NotNull(sample);
        Assert.InRange(sample.Offset.TotalSeconds, 3600 - 0.25, 3600 + 0.25);
        var target = Assert.Single(set);
        Assert.InRange((target - DateTimeOffset.UtcNow).TotalSeconds, -1, 1);
        Assert.Equal(1, sync.Steps);
        Assert.Contains(lines, l => l.StartsWith("time: stepped the clock by +3", StringComparison.Ordinal) && l.Contains($"127.0.0.1:{port}, stratum"));
    }

    [Fact]
    public async Task NoServerAnswering_IsRecordedPromptly_AndTheBackgroundLoopDoesNotBlock()
    {
        int silent = RealRuntime.FreePort();
        var lines = new List<string>();
        await using var sync = new TimeSync([$"127.0.0.1:{silent}", "ntp.invalid"], l => { lock (lines) lines.Add(l); },
            new TimeSyncOptions { QueryTimeout = TimeSpan.FromSeconds(1), FirstRetry = TimeSpan.FromMilliseconds(200), SetClock = _ => Assert.Fail("the clock was set") });
        var clock = Stopwatch.StartNew();
        sync.Start();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "Start waited for the servers");
        while (sync.LastProblem is null && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(50, Ct);
        Assert.NotNull(sync.LastProblem);
        Assert.StartsWith("no time server answered: ", sync.LastProblem);
        Assert.Contains($"127.0.0.1:{silent}: ", sync.LastProblem);
        Assert.Contains("ntp.invalid: ", sync.LastProblem);
        await Task.Delay(1000, Ct); // further failed rounds with the same reason are not logged again
        lock (lines) Assert.Single(lines, l => l.StartsWith("time: no time server answered", StringComparison.Ordinal));
    }
}
