// The supervisor with real child processes (shell scripts): back-off timing, recorded ends, clean stop, leftovers, log rotation.
using System.Diagnostics;
using System.Globalization;
using Appliance.Firstboot.Device;

namespace Appliance.Firstboot.Tests.Device;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProcessSupervisorTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static string Script(TempDir dir, string name, string body)
    {
        var path = dir.Write(name, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    static async Task Until(Func<bool> condition, TimeSpan timeout, Func<string> observed)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) Assert.Fail($"not within {timeout.TotalSeconds} s; observed: {observed()}");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task ExitingChild_IsRestartedWithDoublingBackoff_AndEveryExitIsRecorded()
    {
        using var dir = new TempDir("fb-sup-");
        // Each start appends its start time (ns since the epoch) and says something on stderr, then fails.
        var script = Script(dir, "fail.sh", $"date +%s%N >> '{dir["starts"]}'\necho 'cannot open the thing' >&2\nexit 3");
        var log = new List<string>();
        var policy = new BackoffPolicy(TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(30));
        await using var sup = new ProcessSupervisor(new ProcessSpec("fail", script, [], dir["logs/fail.log"]), l => { lock (log) log.Add(l); }, policy);
        sup.Start();
        await Until(() => sup.Exits.Count >= 6, TimeSpan.FromSeconds(30), () => string.Join("\n", log));
        await sup.StopAsync();

        var starts = File.ReadAllLines(dir["starts"]).Select(l => long.Parse(l, CultureInfo.InvariantCulture) / 1e9).ToArray();
        var gaps = starts.Zip(starts.Skip(1), (a, b) => b - a).Take(5).ToArray();
        double[] expected = [0.2, 0.4, 0.8, 0.8, 0.8];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(gaps[i] >= expected[i] && gaps[i] < expected[i] + 1.5,
                $"gap {i} was {gaps[i]:0.000} s, expected {expected[i]} s (+ start-up): {string.Join(", ", gaps.Select(g => g.ToString("0.000")))}");
        Assert.All(sup.Exits, e =>
        {
            Assert.Equal(3, e.ExitCode);
            Assert.Null(e.Signal);
            Assert.Contains("exited with code 3", e.Reason);
        });
        var file = File.ReadAllText(dir["logs/fail.log"]);
        Assert.Contains("cannot open the thing", file);
        Assert.Contains("starting it again in 0.8 s", file);
        Assert.Contains(log, l => l.Contains("starting it again in 0.2 s"));
    }

    [Fact]
    public async Task StableRun_ResetsTheBackoff_AndDeathBySignalIsRecordedAsSignal()
    {
        using var dir = new TempDir("fb-sup-");
        // The first two runs die by SIGKILL at once; later runs last 1.5 s (longer than ResetAfter) and exit 0.
        var script = Script(dir, "mixed.sh", $"""
            n=$(cat '{dir["n"]}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{dir["n"]}'
            date +%s%N >> '{dir["starts"]}'
            if [ $n -le 2 ]; then kill -9 $$; fi
            sleep 1.5
            """);
        var policy = new BackoffPolicy(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));
        await using var sup = new ProcessSupervisor(new ProcessSpec("mixed", script, [], dir["mixed.log"]), _ => { }, policy);
        sup.Start();
        await Until(() => sup.Exits.Count >= 4, TimeSpan.FromSeconds(40), () => string.Join("\n", sup.Exits));
        await sup.StopAsync();

        var exits = sup.Exits;
        Assert.Equal(9, exits[0].Signal);
        Assert.Null(exits[0].ExitCode);
        Assert.Contains("killed by signal 9", exits[0].Reason);
        Assert.Equal(9, exits[1].Signal);
        Assert.Equal(0, exits[2].ExitCode);
        var starts = File.ReadAllLines(dir["starts"]).Select(l => long.Parse(l, CultureInfo.InvariantCulture) / 1e9).ToArray();
        // After the two quick deaths the delay had doubled to 0.6 s then 1.2 s; each 1.5 s run resets it to 0.3 s.
        var afterStable = starts[3] - starts[2] - 1.5;
        // Without the reset it would have been 2.4 s.
        Assert.True(afterStable >= 0.3 && afterStable < 2.0, $"the pause after a stable run was {afterStable:0.000} s, expected 0.3 s");
        var second = starts[2] - starts[1];
        Assert.True(second >= 0.6, $"the pause after the second quick death was {second:0.000} s, expected 0.6 s");
    }

    [Fact]
    public async Task Stop_SendsTermAndWaits_ThenKillsAChildThatIgnoresIt()
    {
        using var dir = new TempDir("fb-sup-");
        var polite = Script(dir, "polite.sh", $"trap 'echo got TERM; exit 0' TERM\necho up > '{dir["up1"]}'\nwhile :; do sleep 0.1; done");
        var sup = new ProcessSupervisor(new ProcessSpec("polite", polite, [], dir["polite.log"]), _ => { }, stopGrace: TimeSpan.FromSeconds(10));
        sup.Start();
        await Until(() => File.Exists(dir["up1"]), TimeSpan.FromSeconds(10), () => sup.Status.ToString());
        var pid = sup.Status.Pid!.Value;
        var clock = Stopwatch.StartNew();
        await sup.StopAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a child that ends at SIGTERM took {clock.Elapsed.TotalSeconds:0.0} s to stop");
        Assert.Equal(SupervisorState.Stopped, sup.Status.State);
        Assert.Equal(0, sup.Exits.Single().ExitCode);
        Assert.Contains("got TERM", File.ReadAllText(dir["polite.log"]));
        Assert.False(Directory.Exists($"/proc/{pid}"), "the child still runs");
        await sup.DisposeAsync();

        var stubborn = Script(dir, "stubborn.sh", $"trap '' TERM\necho up > '{dir["up2"]}'\nwhile :; do sleep 0.1; done");
        await using var hard = new ProcessSupervisor(new ProcessSpec("stubborn", stubborn, [], dir["stubborn.log"]), _ => { }, stopGrace: TimeSpan.FromSeconds(1));
        hard.Start();
        await Until(() => File.Exists(dir["up2"]), TimeSpan.FromSeconds(10), () => hard.Status.ToString());
        clock.Restart();
        await hard.StopAsync();
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 8);
        Assert.Equal(9, hard.Exits.Single().Signal);
        Assert.Contains("sending SIGKILL", File.ReadAllText(dir["stubborn.log"]));
        // No restart after a stop.
        await Task.Delay(500, Ct);
        Assert.Single(hard.Exits);
    }

    [Fact]
    public async Task MissingProgram_IsRecordedAsAFailedStart_AndRetried()
    {
        using var dir = new TempDir("fb-sup-");
        var policy = new BackoffPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));
        await using var sup = new ProcessSupervisor(new ProcessSpec("ghost", dir["no-such-program"], [], dir["ghost.log"]), _ => { }, policy);
        sup.Start();
        await Until(() => sup.Exits.Count >= 3, TimeSpan.FromSeconds(10), () => sup.Status.ToString());
        var e = sup.Exits[0];
        Assert.Null(e.Pid);
        Assert.Contains("cannot start " + dir["no-such-program"], e.Reason);
        Assert.True(sup.Status.Starts >= 3);
    }

    [Fact]
    public async Task LeftoverFromAnEarlierRun_NamedInThePidFile_IsStoppedBeforeTheNewStart()
    {
        using var dir = new TempDir("fb-sup-");
        var script = Script(dir, "long.sh", $"echo $$ >> '{dir["pids"]}'\nwhile :; do sleep 0.2; done");
        // What a firstboot that died leaves: its child still running, named in the pid file.
        using var leftover = ProcessRunner.Start(script, []);
        Directory.CreateDirectory(dir["run"]);
        File.WriteAllText(dir["run/long.pid"], leftover.Id + "\n");
        await Until(() => File.Exists(dir["pids"]), TimeSpan.FromSeconds(10), () => "no start of the leftover");

        var log = new List<string>();
        await using var sup = new ProcessSupervisor(new ProcessSpec("long", script, [], dir["long.log"], dir["run/long.pid"]), l => { lock (log) log.Add(l); });
        sup.Start();
        Assert.True(await leftover.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(5), Ct), "the leftover still runs");
        Assert.Contains(log, l => l.Contains($"(pid {leftover.Id}) from an earlier run is still running"));
        await Until(() => File.ReadAllLines(dir["pids"]).Length >= 2, TimeSpan.FromSeconds(10), () => sup.Status.ToString());
        Assert.Equal(sup.Status.Pid!.Value.ToString(CultureInfo.InvariantCulture), File.ReadAllText(dir["run/long.pid"]).Trim());
        await sup.StopAsync();
        Assert.False(File.Exists(dir["run/long.pid"]), "the pid file outlived the child");
    }

    [Fact]
    public void LogFile_RotatesBySize_KeepingTheGivenNumber()
    {
        using var dir = new TempDir("fb-log-");
        using var log = new RotatingLogFile(dir["logs/x.log"], maxBytes: 100, keep: 2);
        for (int i = 0; i < 10; i++) log.Append(System.Text.Encoding.ASCII.GetBytes(new string((char)('a' + i), 60)));
        Assert.Equal(new string('j', 60), File.ReadAllText(dir["logs/x.log"]));
        Assert.Equal(new string('i', 60), File.ReadAllText(dir["logs/x.log.1"]));
        Assert.Equal(new string('h', 60), File.ReadAllText(dir["logs/x.log.2"]));
        Assert.False(File.Exists(dir["logs/x.log.3"]));
    }
}
