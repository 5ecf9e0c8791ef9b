// The agent's image garbage collection: frees the image filesystem when it fills up, never removing a preloaded image.
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>When the image GC runs and how much it frees (upstream kubelet's image GC defaults).</summary>
/// <param name="HighThresholdPercent">Image filesystem use (percent) at which collection starts.</param>
/// <param name="LowThresholdPercent">Use (percent) that a collection frees down to.</param>
public sealed record ImageGcPolicy(int HighThresholdPercent = 85, int LowThresholdPercent = 80)
{
    /// <summary>An image unused for less than this is kept (it may be about to be used).</summary>
    public TimeSpan MinAge { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the filesystem is checked.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>What one collection saw and did.</summary>
public sealed record ImageGcResult(int UsagePercent, long BytesToFree, long BytesFreed, IReadOnlyList<string> Removed);

/// <summary>
/// Removes unused images, least recently used first, while the image filesystem is above
/// <see cref="ImageGcPolicy.HighThresholdPercent"/>, until it is below <see cref="ImageGcPolicy.LowThresholdPercent"/>.
/// Never removed: an image a container (running or not) uses, the sandbox (pause) image, an image CRI reports
/// pinned, and a preloaded image (one of its containerd records labelled <see cref="ArchiveImporter.PreloadedLabel"/>):
/// a node offline could never get it back.
/// </summary>
internal sealed class ImageGc(CriConnection cri, ContainerdConnection containerd, string sandboxImage, ImageGcPolicy policy, ILogger logger, TimeProvider time)
{
    /// <summary>Image ID → when it was last seen in use (or first seen), kept in memory as upstream does.</summary>
    readonly Dictionary<string, DateTimeOffset> _lastUsed = new(StringComparer.Ordinal);

    /// <summary>Collects every <see cref="ImageGcPolicy.Period"/> until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(policy.Period, time);
        try
        {
            do
            {
                try
                {
                    await CollectAsync(ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested && e is RpcException or CriUnavailableException or IOException)
                {
                    logger.LogWarning("image garbage collection: {Error}", e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // Stopping: a call cut short ends as OperationCanceledException or as RpcException(Cancelled).
        }
    }

    /// <summary>One collection: notes which images are in use, and frees space if the filesystem is above the high threshold.</summary>
    public async Task<ImageGcResult> CollectAsync(CancellationToken ct)
    {
        var images = (await cri.Images.ListImagesAsync(new ListImagesRequest(), cancellationToken: ct)).Images;
        var containers = (await cri.Runtime.ListContainersAsync(new ListContainersRequest(), cancellationToken: ct)).Containers;
        var now = time.GetUtcNow();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            used.Add(c.ImageRef);
            if (c.Image is { } spec) used.Add(spec.Image);
        }
        bool InUse(Image image) => used.Contains(image.Id) || image.RepoTags.Any(used.Contains) || image.RepoDigests.Any(used.Contains);
        foreach (var image in images)
            if (InUse(image) || !_lastUsed.ContainsKey(image.Id)) _lastUsed[image.Id] = now;
        foreach (var gone in _lastUsed.Keys.Except(images.Select(i => i.Id)).ToList()) _lastUsed.Remove(gone);

        var fs = (await cri.Images.ImageFsInfoAsync(new ImageFsInfoRequest(), cancellationToken: ct)).ImageFilesystems.FirstOrDefault();
        if (fs?.FsId?.Mountpoint is not { Length: > 0 } mountpoint) return new ImageGcResult(0, 0, 0, []);
        var drive = new DriveInfo(mountpoint);
        long capacity = drive.TotalSize, available = drive.AvailableFreeSpace;
        var usage = capacity == 0 ? 0 : (int)((capacity - available) * 100 / capacity);
        if (usage < policy.HighThresholdPercent) return new ImageGcResult(usage, 0, 0, []);

        var toFree = capacity * (100 - policy.LowThresholdPercent) / 100 - available;
        var keep = await PreloadedImageIdsAsync(ct);
        var candidates = images
            .Where(i => !InUse(i) && !i.Pinned && !keep.Contains(i.Id) && !i.RepoTags.Contains(sandboxImage) && now - _lastUsed[i.Id] >= policy.MinAge)
            .OrderBy(i => _lastUsed[i.Id])
            .ToList();
        long freed = 0;
        var removed = new List<string>();
        foreach (var image in candidates)
        {
            if (freed >= toFree) break;
            try
            {
                await cri.Images.RemoveImageAsync(new RemoveImageRequest { Image = new ImageSpec { Image = image.Id } }, cancellationToken: ct);
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Unavailable && !ct.IsCancellationRequested)
            {
                // E.g. a container was created from it since the list: the next image may still go.
                logger.LogWarning("image garbage collection could not remove {Image}: {Error}", image.Id, e.Status.Detail);
                continue;
            }
            _lastUsed.Remove(image.Id);
            freed += (long)image.Size;
            removed.Add(image.Id);
            logger.LogInformation("image garbage collection removed {Image} ({Tags}, {Size} bytes): image filesystem {Usage}% used, over {High}%",
                image.Id, string.Join(", ", image.RepoTags), image.Size, usage, policy.HighThresholdPercent);
        }
        if (freed < toFree)
            logger.LogWarning("image garbage collection freed {Freed} of {ToFree} bytes wanted on {Mount}: the rest is held by images in use or preloaded",
                freed, toFree, mountpoint);
        return new ImageGcResult(usage, toFree, freed, removed);
    }

    /// <summary>
    /// The CRI image IDs of preloaded images. Only the records the importer wrote carry the label; containerd's CRI
    /// plugin adds a record named by the image ID (<c>sha256:…</c>) with the same target and no label, and CRI
    /// removes an image by ID with all its records: so an ID is preloaded when any record of its target is.
    /// </summary>
    async Task<HashSet<string>> PreloadedImageIdsAsync(CancellationToken ct)
    {
        var records = (await containerd.Images.ListAsync(new Api.ListImagesRequest(), containerd.Call(ct))).Images;
        var preloadedTargets = records
            .Where(r => r.Labels.TryGetValue(ArchiveImporter.PreloadedLabel, out var v) && v == "true")
            .Select(r => r.Target.Digest)
            .ToHashSet(StringComparer.Ordinal);
        return records
            .Where(r => r.Name.StartsWith("sha256:", StringComparison.Ordinal) && preloadedTargets.Contains(r.Target.Digest))
            .Select(r => r.Name)
            .ToHashSet(StringComparer.Ordinal);
    }
}
