// The auto-deploy directory (K3s's server/manifests): applies every manifest file at start and whenever it changes.
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Manifests;

/// <summary>
/// Scans <see cref="ControllerOptions.ManifestsDir"/> at start, on every change a <see cref="FileSystemWatcher"/>
/// reports, and every 15 s (inotify can miss events, and a watch limit may be reached). Each file is tracked by a
/// ConfigMap in kube-system (<see cref="ManifestTracker"/>) holding its SHA-256; a file whose checksum is the tracked
/// one is left alone, also across restarts. See README.md.
/// </summary>
public sealed class ManifestsController(ControllerContext ctx) : IController
{
    /// <summary>How often the directory is scanned without a change notification (K3s: 15 s).</summary>
    public static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(15);

    readonly ILogger _logger = ctx.Logger("Manifests");
    readonly ManifestApplier _applier = new(ctx.Store);
    readonly ManifestTracker _trackers = new(ctx.Store);

    /// <summary>Checksum of each file (relative path) that is applied, or that cannot be parsed: not tried again until it changes.</summary>
    readonly Dictionary<string, string> _settled = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string Name => "deploy";

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken ct)
    {
        if (ctx.Options.ManifestsDir is not { } dir) return;
        Directory.CreateDirectory(dir);
        using var changed = new SemaphoreSlim(0);
        using var watcher = Watch(dir, changed);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(dir, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("scanning {Dir} failed: {Error}; retrying in {Seconds} s", dir, e.Message, RescanInterval.TotalSeconds);
            }
            await changed.WaitAsync(RescanInterval, ct);
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct); // let an editor finish writing, and coalesce a burst
            while (changed.CurrentCount > 0) changed.Wait(0);
        }
    }

    FileSystemWatcher? Watch(string dir, SemaphoreSlim changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(dir) { IncludeSubdirectories = true };
            void Signal(object? _, EventArgs __) { if (changed.CurrentCount == 0) changed.Release(); }
            watcher.Changed += Signal;
            watcher.Created += Signal;
            watcher.Deleted += Signal;
            watcher.Renamed += Signal;
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            _logger.LogWarning("cannot watch {Dir} ({Error}); changes are picked up by the {Seconds} s rescan", dir, e.Message, RescanInterval.TotalSeconds);
            return null;
        }
    }

    /// <summary>
    /// One pass over the directory, in path order. A file that failed to apply (e.g. its namespace comes from a later
    /// file) is tried again at once when the pass applied something else, up to three passes.
    /// </summary>
    async Task ScanAsync(string dir, CancellationToken ct)
    {
        var files = ManifestFiles(dir);
        for (int pass = 0; pass < 3; pass++)
        {
            bool applied = false, failed = false;
            foreach (var (full, relative) in files)
            {
                switch (await SyncAsync(full, relative, ct))
                {
                    case true: applied = true; break;
                    case false: failed = true; break;
                }
            }
            if (!(applied && failed)) return;
        }
    }

    /// <summary>The manifest files (K3s's rules): *.yaml, *.yml, *.json anywhere below, not hidden, without a <c>NAME.skip</c> beside.</summary>
    static List<(string Full, string Relative)> ManifestFiles(string dir)
    {
        var all = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 })
            .Select(full => (Full: full, Relative: Path.GetRelativePath(dir, full).Replace('\\', '/')))
            .Where(f => !f.Relative.Split('/').Any(part => part.StartsWith('.')))
            .ToList();
        var skipped = all.Where(f => f.Relative.EndsWith(".skip", StringComparison.Ordinal)).Select(f => f.Relative[..^".skip".Length]).ToHashSet(StringComparer.Ordinal);
        return all
            .Where(f => Path.GetExtension(f.Relative) is ".yaml" or ".yml" or ".json" && !skipped.Contains(f.Relative))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Applies one file if it changed: true when applied, false when it failed and is to be retried, null otherwise.</summary>
    async Task<bool?> SyncAsync(string full, string relative, CancellationToken ct)
    {
        byte[] content;
        try
        {
            content = await File.ReadAllBytesAsync(full, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone or unreadable: a file being replaced; the next change or rescan sees it again.
            _logger.LogWarning("reading manifest {File} failed: {Error}", full, e.Message);
            return null;
        }
        var checksum = Convert.ToHexStringLower(SHA256.HashData(content));
        if (_settled.GetValueOrDefault(relative) == checksum) return null;

        var tracker = await _trackers.GetOrCreateAsync(relative, ct);
        if (ManifestTracker.Checksum(tracker) == checksum)
        {
            _settled[relative] = checksum;
            return null;
        }
        List<DesiredObject> desired;
        try
        {
            desired = ManifestApplier.Resolve(ManifestReader.Read(System.Text.Encoding.UTF8.GetString(content), Path.GetExtension(relative) == ".json"));
        }
        catch (InvalidDataException e)
        {
            Warn(tracker, "ParseManifestFailed", $"Parse manifest at \"{full}\" failed: {e.Message}");
            _settled[relative] = checksum; // not retried until the file changes
            return null;
        }

        ctx.Events.Record(tracker, EventRecorder.Normal, "ApplyingManifest", $"Applying manifest at \"{full}\"", Name);
        var errors = await _applier.ApplyAsync(relative, desired, ct);
        if (errors.Count > 0)
        {
            Warn(tracker, "ApplyManifestFailed", $"Applying manifest at \"{full}\" failed: {string.Join("; ", errors)}");
            return false;
        }
        var resources = ManifestTracker.Resources(tracker).Concat(desired.Select(d => d.Resource));
        var pruneErrors = await _applier.PruneAsync(relative, resources, desired, ct);
        if (pruneErrors.Count > 0)
        {
            Warn(tracker, "ApplyManifestFailed", $"Applying manifest at \"{full}\" failed: {string.Join("; ", pruneErrors)}");
            return false;
        }
        await _trackers.RecordAsync(tracker, checksum, desired.Select(d => d.Resource), ct);
        ctx.Events.Record(tracker, EventRecorder.Normal, "AppliedManifest", $"Applied manifest at \"{full}\"", Name);
        _logger.LogInformation("applied manifest {File} ({Count} objects)", full, desired.Count);
        _settled[relative] = checksum;
        return true;
    }

    void Warn(JsonObject tracker, string reason, string message)
    {
        _logger.LogWarning("{Message}", message);
        ctx.Events.Record(tracker, EventRecorder.Warning, reason, message, Name);
    }
}
