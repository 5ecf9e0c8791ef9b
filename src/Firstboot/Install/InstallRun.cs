// `appliance-firstboot run` booted with appliance.mode=install: the installer, in place of the first-boot steps.
using Appliance.Firstboot.Disks;
using Appliance.Firstboot.Site;
using Appliance.Firstboot.Steps;

namespace Appliance.Firstboot.Install;

/// <summary>
/// Reads the medium's site.yaml and <c>appliance/install/layout.json</c>, chooses the disk (<see cref="TargetDisk"/>),
/// refuses one smaller than the image's minimum disk, writes and checks the raw image (<see cref="InstallWriter"/>),
/// then says so on the console and in status.json and powers the machine off. A refusal or failure is shown the same
/// way (reason in status.json and the banner) and nothing is powered off. Either way the outcome is recorded in
/// <see cref="FirstbootPaths.InstallDone"/> (tmpfs) and, when supervising, the process then waits to be stopped: init
/// respawns firstboot when it ends, and a respawned installer must never write the disk again in the same boot.
/// </summary>
public sealed class InstallRun(RunOptions options, IDeviceActions device, FirstbootLog log)
{
    private readonly FirstbootPaths _paths = options.Paths;
    private readonly StatusReport _status = new() { Mode = BootMode.Install.Name(), Step = "install", NodeState = "installing" };

    /// <summary>The status as it stands.</summary>
    public StatusReport Status => _status;

    /// <summary>Installs; 0 when the disk was written and checked, 1 on a refusal or failure.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (File.Exists(_paths.InstallDone))
        {
            log.Info($"install: already ran in this boot ({File.ReadAllText(_paths.InstallDone).Trim()}); not writing the disk again. Power the machine off.");
            return await Stay(1, ct);
        }
        _status.ReadBuildFacts(_paths.BuildJson, log.Info);
        int code;
        try
        {
            var result = Install();
            _status.NodeState = "installed";
            _status.Notice = $"INSTALLED to {result.Disk}: remove the medium; the machine powers off";
            Finish($"installed to {result.Disk}");
            log.Info($"install: done in {result.Elapsed.TotalSeconds:0.0} s ({result.BytesCopied >> 20} MiB copied, {result.BytesChecked >> 20} MiB read back); powering off");
            code = 0;
            try { await device.PowerOffAsync(ct); }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                _status.Notice = $"INSTALLED to {result.Disk}: remove the medium and switch the machine off (it could not power itself off: {e.Message})";
                Finish($"installed to {result.Disk}");
            }
        }
        catch (Exception e) when (e is InstallRefusedException or InvalidDataException or IOException or UnauthorizedAccessException or DiskTooSmallException)
        {
            _status.Reason = e.Message;
            _status.NodeState = "failed";
            _status.Notice = "NOT INSTALLED: the machine stays on; fix the cause and boot the medium again";
            log.Info($"FAILED at install: {e.Message}");
            Finish("failed: " + e.Message);
            code = 1;
        }
        return await Stay(code, ct);
    }

    private InstallResult Install()
    {
        var medium = _paths.Medium;
        var boot = new MediumBootFiles(_paths.MediumBoot);
        var site = SiteConfig.Parse(boot.ReadFile(SecretsStep.SiteYamlPath), $"medium:{Path.Combine(boot.Where, SecretsStep.SiteYamlPath)}");
        _status.Site = site.Name;
        _status.Role = site.Role;
        _status.Node = site.Hostname;
        _status.ApiAddress = site.ApiAddress;
        WriteStatus();

        var layout = InstallLayout.Read(medium);
        layout.CheckManifest(medium);
        var mediumDisk = TargetDisk.DiskOf(_paths.SysBlock, Mounts.DeviceAt(medium));
        var disk = TargetDisk.Choose(site.Text("target", "installDisk"), _paths.SysBlock, mediumDisk);
        long size = BlockDevices.SizeBytes(disk);
        long needed = Math.Max(layout.MinimumDiskSize, layout.ImageSize);
        if (size < needed)
            throw new DiskTooSmallException($"the disk {disk} is {BlockDevices.SizeText(size)}, smaller than the {BlockDevices.SizeText(needed)} this image needs " +
                "(target.diskSize); nothing was written: use a larger disk");
        log.Info($"install: writing the image ({BlockDevices.SizeText(layout.ImageSize)}, {layout.PartitionTable}) to {disk} ({BlockDevices.SizeText(size)})");
        _status.Notice = $"INSTALLING to {disk}: do not switch the machine off";
        WriteStatus();
        Show();

        foreach (var mount in Mounts.MountPointsOf(BlockDevices.DeviceNumbersOfDisk(disk)))
        {
            log.Info($"install: unmounting {mount} (on {disk})");
            Mounts.Unmount(mount);
        }
        return new InstallWriter(layout, medium, log.Info).Write(disk, size);
    }

    /// <summary>Records the outcome (tmpfs marker first: a respawn must find it), then status.json and the banner.</summary>
    private void Finish(string outcome)
    {
        try
        {
            Directory.CreateDirectory(_paths.Run);
            File.WriteAllText(_paths.InstallDone, outcome + "\n");
        }
        catch (IOException e) { log.Info($"install: cannot record the outcome in {_paths.InstallDone}: {e.Message}"); }
        WriteStatus();
        Show();
    }

    /// <summary>Without supervision, returns <paramref name="code"/>; on the device, waits until stopped (init's shutdown).</summary>
    private async Task<int> Stay(int code, CancellationToken ct)
    {
        if (!options.Supervise) return code;
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) { }
        return code;
    }

    private void WriteStatus() => _status.Publish(_paths, dataMounted: false, log.Info);

    private void Show() => _status.Show(Console.Out);
}
