// `appliance-firstboot run`: the journaled first-boot steps in order, and the status after each.
using Appliance.Firstboot.Disks;
using Appliance.Firstboot.Install;
using Appliance.Firstboot.Site;
using Appliance.Firstboot.Steps;

namespace Appliance.Firstboot;

/// <summary>What <c>run</c> was asked to do.</summary>
/// <param name="Paths">Where the device's files are (a prefix in host tests).</param>
/// <param name="BootDevice">The boot partition; null finds the FAT32 volume labelled BOOT.</param>
/// <param name="Disk">The whole disk; null takes the boot partition's disk.</param>
/// <param name="Slot">The booted slot; null reads <c>appliance.slot=</c> from the kernel command line (default a).</param>
/// <param name="SetClock">Whether the clock floor may set the system clock (false in host tests).</param>
/// <param name="Supervise">Whether to stay running while the runtime is supervised (init respawns firstboot).</param>
public sealed record RunOptions(FirstbootPaths Paths, string? BootDevice, string? Disk, string? Slot, bool SetClock, bool Supervise);

/// <summary>
/// The steps: (1) partition: root-b and data, ext4, mounted; (2) secrets off the boot partition; (3) network; (4) clock
/// floor; (6) manifests placed; (5) runtime configured and started; (7) wait for Ready; (8) bless the boot; (9) status.
/// Manifests go before the runtime starts so its first scan of the auto-deploy directory finds them. The one-time
/// steps (partition, secrets, manifests, bless) are recorded in the journal when done and skipped on later boots;
/// network, clock, runtime and the wait run on every boot. A failing step ends the run with its reason in the status
/// and on the console; init starts firstboot again, which resumes at the first step not recorded.
/// Booted from the ISO (<c>appliance.mode=</c> on the kernel command line): <c>install</c> runs <see cref="InstallRun"/>
/// instead; <c>live</c> runs the steps on the medium: site.yaml and the manifests from its read-only copy of the boot
/// partition, no partitioning (DATA is the tmpfs the initramfs mounted), secrets copied without the FAT cut, no bless.
/// </summary>
public sealed class FirstbootRun(RunOptions options, IDeviceActions device, FirstbootLog log, TimeProvider? time = null)
{
    private readonly FirstbootPaths _paths = options.Paths;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly StatusReport _status = new();
    private Journal? _journal;

    /// <summary>The step names, in order.</summary>
    public static readonly string[] Steps = ["partition", "secrets", "network", "clock", "manifests", "runtime", "ready", "bless", "status"];

    /// <summary>The one-time steps the journal records.</summary>
    public static readonly string[] OneTime = ["partition", "secrets", "manifests", "bless"];

    /// <summary>The status as it stands.</summary>
    public StatusReport Status => _status;

    /// <summary>Runs the steps; 0 when the node came up (or device actions are off), 1 when a step failed.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        IRuntimeSupervisor? runtime = null;
        try
        {
            var mode = Step("mode", () => BootModes.Read(_paths.CmdLine));
            if (mode == BootMode.Install) return await new InstallRun(options, device, log).RunAsync(ct);
            bool live = mode == BootMode.Live;
            _status.Mode = mode.Name();
            _status.ReadBuildFacts(_paths.BuildJson, log.Info);
            _status.Slot = live ? null : Slot();
            // Live: the medium's copy of the boot partition, read-only; a BOOT FAT on the machine's disk is not this node's.
            BootPartition? fat = live ? null : new BootPartition(FindBoot(), log.Info);
            IBootFiles boot = fat is null ? new MediumBootFiles(_paths.MediumBoot) : fat;
            var where = live ? "medium:" + Path.Combine(boot.Where, SecretsStep.SiteYamlPath) : "boot:" + SecretsStep.SiteYamlPath;
            var site = Step("site", () => SiteConfig.Parse(boot.ReadFile(SecretsStep.SiteYamlPath), where));
            _status.Site = site.Name;
            _status.Role = site.Role;
            _status.Node = site.Hostname;
            _status.ApiAddress = site.ApiAddress;

            Boundary("partition", () => { if (fat is null) LiveData(); else Partition(fat, site); });
            log.MoveTo(Path.Combine(_paths.Logs, "firstboot.log"));
            Boundary("secrets", () =>
            {
                if (fat is not null) SecretsStep.Run(fat, _paths, log.Info, StopPoints.Reach);
                else if (site.Secrets is { } secrets)
                {
                    SecretsStep.Copy(site.Role, secrets, _paths, log.Info);
                    log.Info("secrets: live: copied from the medium's site.yaml, which is read-only and stays as it is");
                }
                else log.Info("secrets: live: the medium's site.yaml holds no secrets document");
            });
            await BoundaryAsync("network", () => device.ConfigureNetworkAsync(site, ct));
            Boundary("clock", Clock);
            Boundary("manifests", () => ManifestsStep.Run(boot, site.Role, _paths, log.Info));
            var launch = Launch(site);
            await BoundaryAsync("runtime", async () =>
            {
                Directory.CreateDirectory(launch.DataDir);
                Directory.CreateDirectory(launch.LogsDir);
                StopPoints.Reach("runtime:configured");
                runtime = await device.StartRuntimeAsync(launch, ct);
                StopPoints.Reach("runtime:started");
            });
            NodeReadiness ready = new("NotReady", null);
            await BoundaryAsync("ready", async () =>
            {
                ready = await device.WaitReadyAsync(launch, new InlineProgress(Waiting), ct);
                _status.Waiting = null;
                _status.NodeState = ready.State;
                if (!ready.Good) throw new StepFailedException($"the node is {ready.State}: {ready.Reason}");
            });
            Boundary("bless", () => log.Info(fat is null ? "bless: live from the medium: no boot entry to bless" : BootBlessing.Run(fat, Slot())));
            Boundary("status", () => { });
            Show();
            if (options.Supervise && runtime is not null)
            {
                _status.Step = "runtime";
                try { await runtime.Completion.WaitAsync(ct); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new StepFailedException($"runtime supervision gave up: {e.Message}", e);
                }
            }
            return 0;
        }
        catch (StepFailedException e)
        {
            _status.Reason = e.Message;
            if (_status.NodeState == "starting") _status.NodeState = "failed";
            WriteStatus();
            log.Info($"FAILED at {_status.Step}: {e.Message}");
            Show();
            return 1;
        }
        finally
        {
            // Supervision ends here only on a failure or a stop (SIGTERM from rc.shutdown): the runtime stops with firstboot.
            if (runtime is not null) await runtime.DisposeAsync();
            if (device is IAsyncDisposable d) await d.DisposeAsync();
        }
    }

    private void Partition(BootPartition boot, SiteConfig site)
    {
        var disk = options.Disk ?? BlockDevices.ParentDisk(boot.Device)
            ?? throw new StepFailedException($"{boot.Device} is not a partition of a disk; give --disk");
        var size = BlockDevices.SizeBytes(disk);
        var layout = DataPartitioner.Ensure(disk, size, site.MinimumDiskBytes, StopPoints.Reach);
        log.Info(layout.Changed
            ? $"partition: {layout.Table} table written: root-b #{layout.RootB.Number}, data #{layout.Data.Number} ({layout.Data.LengthBytes >> 20} MiB)"
            : $"partition: root-b #{layout.RootB.Number} and data #{layout.Data.Number} already in the table");
        BlockDevices.AddPartition(disk, layout.RootB.Number, layout.RootB.StartBytes, layout.RootB.LengthBytes);
        var data = BlockDevices.AddPartition(disk, layout.Data.Number, layout.Data.StartBytes, layout.Data.LengthBytes);
        bool made = DataFilesystem.EnsureMounted(data, _paths.Data, layout.Identity, mp => Journal.Exists(Path.Combine(mp, "firstboot", "journal")), StopPoints.Reach);
        log.Info(made ? $"partition: made ext4 '{DataFilesystem.Label}' on {data}, mounted at {_paths.Data}" : $"partition: {data} mounted at {_paths.Data}");
        Directory.CreateDirectory(_paths.FirstbootDir);
        Directory.CreateDirectory(_paths.Logs);
        _journal = Journal.Open(_paths.Journal);
        if (!Journal.Exists(_paths.Journal)) _journal.Write();
    }

    /// <summary>Live: nothing is partitioned; DATA is the tmpfs the initramfs mounted, and the journal lives there for this boot.</summary>
    private void LiveData()
    {
        Directory.CreateDirectory(_paths.FirstbootDir);
        Directory.CreateDirectory(_paths.Logs);
        log.Info($"partition: live from the medium: no disk is touched; DATA is {_paths.Data} (RAM, gone at power-off)");
        _journal = Journal.Open(_paths.Journal);
        if (!Journal.Exists(_paths.Journal)) _journal.Write();
    }

    private void Clock()
    {
        var floor = ClockFloor.BuildEpoch(_paths.BuildJson);
        if (floor is null)
        {
            log.Info($"clock: {_paths.BuildJson} has no sourceDateEpoch; no floor");
            return;
        }
        var set = ClockFloor.Apply(floor.Value, _time.GetUtcNow(), options.SetClock);
        log.Info(set is null ? $"clock: {_time.GetUtcNow():u} is not before the build time {DateTimeOffset.FromUnixTimeSeconds(floor.Value):u}"
            : options.SetClock ? $"clock: set to the build time {set:u}" : $"clock: would set it to the build time {set:u} (--no-set-clock)");
    }

    private RuntimeLaunch Launch(SiteConfig site)
    {
        bool agent = site.Role == "agent";
        var token = agent ? Path.Combine(_paths.SecretsDir, "token") : Path.Combine(_paths.Runtime, "token");
        return new RuntimeLaunch(site, site.Role, site.Hostname ?? site.Name,
            agent ? Path.Combine(_paths.Runtime, "agent") : _paths.Runtime,
            File.Exists(token) ? token : null, agent ? site.ClusterServer : null, _paths.ManifestsDir, _paths.Logs, site.ApiAddress);
    }

    /// <summary>
    /// A not-Ready reason from the wait (reported once per change): logged, and shown as the banner with a WAITING line,
    /// so an agent that cannot reach its server says so on the console within seconds, not after the wait's timeout.
    /// </summary>
    private void Waiting(string message)
    {
        log.Info("ready: " + message);
        if (!message.Contains("not Ready yet", StringComparison.Ordinal)) return;
        _status.NodeState = "waiting";
        _status.Waiting = message;
        WriteStatus();
        Show();
    }

    private void Boundary(string step, Action action) => BoundaryAsync(step, () => { action(); return Task.CompletedTask; }).GetAwaiter().GetResult();

    /// <summary>Runs one step between its stop points, skipping a one-time step the journal records, and records it.</summary>
    private async Task BoundaryAsync(string step, Func<Task> action)
    {
        StopPoints.Reach($"before:{step}");
        _status.Step = step;
        bool oneTime = OneTime.Contains(step);
        // partition runs on every boot all the same: it mounts DATA, and on a later boot finds nothing to change.
        if (oneTime && _journal?.IsDone(step) == true && step != "partition")
        {
            log.Info($"{step}: done on an earlier boot");
        }
        else
        {
            log.Info($"{step}: starting");
            try { await action(); }
            catch (Exception e) when (e is not StepFailedException and not OperationCanceledException)
            {
                throw new StepFailedException(e.Message, e);
            }
            if (oneTime) _journal?.Record(step);
        }
        _status.Done = _journal?.Done ?? [];
        WriteStatus();
        StopPoints.Reach($"after:{step}");
    }

    private T Step<T>(string step, Func<T> read)
    {
        _status.Step = step;
        try { return read(); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or IOException)
        {
            throw new StepFailedException(e.Message, e);
        }
    }

    private string FindBoot()
    {
        _status.Step = "boot";
        return options.BootDevice ?? BlockDevices.FindFatByLabel("BOOT")
            ?? throw new StepFailedException("no partition holds a FAT32 volume labelled BOOT (the boot partition)");
    }

    private string Slot()
    {
        if (options.Slot is { } s) return s;
        if (File.Exists(_paths.CmdLine))
            foreach (var word in File.ReadAllText(_paths.CmdLine).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                if (word.StartsWith("appliance.slot=", StringComparison.Ordinal)) return word["appliance.slot=".Length..];
        return "a";
    }

    private void WriteStatus() => _status.Publish(_paths, _journal is not null, log.Info);

    private void Show() => _status.Show(Console.Out);
}

/// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool, so a late "not Ready yet" could land after Ready).</summary>
internal sealed class InlineProgress(Action<string> report) : IProgress<string>
{
    public void Report(string value) => report(value);
}

/// <summary>A step failed; the message is the reason shown in the banner and status.json.</summary>
public sealed class StepFailedException(string message, Exception? inner = null) : Exception(message, inner);
