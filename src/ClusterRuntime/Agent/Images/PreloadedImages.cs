// The agent's start-up import of preloaded image archives: each archive once, by the digest of its bytes.
using System.Diagnostics;
using Appliance.ClusterRuntime.Agent.Images.Api;
using Appliance.Common;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>
/// Imports the image archives (<c>.tar</c>, <c>.tar.gz</c>, <c>.tar.zst</c>; OCI layout or docker save) found in
/// the given directories into containerd's <c>k8s.io</c> namespace, skipping an archive whose bytes have the
/// SHA-256 recorded at its last import while its images are still in containerd. A broken archive is logged
/// (one line naming it) and the others still import. See README.md.
/// </summary>
public sealed class PreloadedImages : IDisposable
{
    readonly ContainerdConnection _containerd;
    readonly string _recordPath;
    readonly ILogger _logger;

    /// <summary>Uses containerd at <paramref name="containerdSocket"/> (a path or <c>unix://</c> URI) and keeps the
    /// record in <paramref name="dataDir"/>.</summary>
    /// <exception cref="ArgumentException">The endpoint is not a unix socket, or its path is 108 bytes or more.</exception>
    public PreloadedImages(string containerdSocket, string dataDir, ILogger logger)
    {
        _containerd = new ContainerdConnection(containerdSocket);
        _recordPath = Path.Combine(dataDir, ImportRecord.FileName);
        _logger = logger;
    }

    /// <summary>The label every preloaded image record carries (value <c>true</c>); image GC must skip such images.</summary>
    public const string PreloadedLabel = ArchiveImporter.PreloadedLabel;

    /// <summary>
    /// Imports or skips every archive in <paramref name="directories"/> (missing directories are ignored), in
    /// directory order and then by file name.
    /// </summary>
    /// <exception cref="RpcException">containerd is unreachable (status Unavailable).</exception>
    public async Task<IReadOnlyList<ArchiveOutcome>> ImportAsync(IEnumerable<string> directories, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var record = ImportRecord.Load(_recordPath, m => _logger.LogWarning("{Message}", m));
        var outcomes = new List<ArchiveOutcome>();
        foreach (var dir in directories.Where(Directory.Exists))
            foreach (var path in Directory.EnumerateFiles(dir).Where(ArchiveStream.IsArchiveName).Order(StringComparer.Ordinal))
            {
                var outcome = await ImportOneAsync(Path.GetFullPath(path), record, ct);
                outcomes.Add(outcome);
                record.Save(_recordPath);
            }
        _logger.LogInformation("preloaded images: {Imported} archive(s) imported, {Skipped} unchanged, {Failed} failed, in {Ms} ms",
            outcomes.Count(o => o.Status == ArchiveStatus.Imported), outcomes.Count(o => o.Status == ArchiveStatus.Skipped),
            outcomes.Count(o => o.Status == ArchiveStatus.Failed), clock.ElapsedMilliseconds);
        return outcomes;
    }

    private async Task<ArchiveOutcome> ImportOneAsync(string path, ImportRecord record, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string sha;
        long size;
        try
        {
            sha = Convert.ToHexStringLower(await Task.Run(() => FileSha256.Hash(path), ct));
            size = new FileInfo(path).Length;
        }
        catch (IOException e)
        {
            return Fail(path, record, clock, e.Message);
        }
        if (record.Archives.TryGetValue(path, out var last) && last.Sha256 == sha && await StillPresentAsync(last.Images, ct))
        {
            _logger.LogInformation("preloaded images: {Archive} unchanged (sha256 {Sha}), not imported again; checked in {Ms} ms",
                path, sha[..12], clock.ElapsedMilliseconds);
            return new ArchiveOutcome(path, ArchiveStatus.Skipped, last.Images, null, clock.Elapsed);
        }
        try
        {
            var imported = await new ArchiveImporter(_containerd).ImportAsync(path, ct);
            // A name this archive now provides is no longer another archive's: without this, two archives naming
            // the same image would each find "its" image changed and be imported again at every start.
            var names = imported.Images.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var other in record.Archives.Values)
                other.Images.RemoveAll(i => names.Contains(i.Name));
            record.Archives[path] = new ImportRecord.Entry(sha, size, [.. imported.Images]);
            _logger.LogInformation("preloaded images: imported {Archive} ({Images}; {MiB:F1} MiB written, {Reused} blobs already present) in {Ms} ms",
                path, string.Join(", ", imported.Images.Select(i => i.Name)), imported.BytesWritten / 1048576.0, imported.BlobsReused,
                clock.ElapsedMilliseconds);
            return new ArchiveOutcome(path, ArchiveStatus.Imported, imported.Images, null, clock.Elapsed);
        }
        catch (Exception e) when (e is InvalidDataException or IOException
                                  || e is RpcException { StatusCode: not (StatusCode.Unavailable or StatusCode.Cancelled) })
        {
            return Fail(path, record, clock, e is RpcException r ? $"containerd refused it: {r.Status.Detail}" : e.Message);
        }
    }

    private ArchiveOutcome Fail(string path, ImportRecord record, Stopwatch clock, string why)
    {
        record.Archives.Remove(path);
        _logger.LogError("preloaded images: {Archive} not imported: {Reason}", path, why);
        return new ArchiveOutcome(path, ArchiveStatus.Failed, [], why, clock.Elapsed);
    }

    // An unchanged archive is skipped only while containerd still has its images with the same targets (a wiped
    // containerd root, or an image deleted by hand, brings a re-import).
    private async Task<bool> StillPresentAsync(List<ImportedImage> images, CancellationToken ct)
    {
        foreach (var i in images)
        {
            try
            {
                var got = await _containerd.Images.GetAsync(new GetImageRequest { Name = i.Name }, _containerd.Call(ct));
                if (got.Image?.Target?.Digest != i.Digest)
                    return false;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                _logger.LogInformation("preloaded images: {Image} is gone from containerd; importing its archive again", i.Name);
                return false;
            }
        }
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _containerd.Dispose();
}

/// <summary>What happened to one archive.</summary>
public enum ArchiveStatus
{
    /// <summary>Imported (new or changed archive).</summary>
    Imported,
    /// <summary>Unchanged since its last import, and its images are present: nothing done.</summary>
    Skipped,
    /// <summary>Not imported; see <see cref="ArchiveOutcome.Error"/>.</summary>
    Failed,
}

/// <summary>One archive's outcome.</summary>
/// <param name="Path">Full path of the archive.</param>
/// <param name="Status">Imported, skipped or failed.</param>
/// <param name="Images">Images it provides (from this import, or the record when skipped).</param>
/// <param name="Error">Why it failed (null otherwise).</param>
/// <param name="Elapsed">Time spent on it, hashing included.</param>
public sealed record ArchiveOutcome(string Path, ArchiveStatus Status, IReadOnlyList<ImportedImage> Images, string? Error, TimeSpan Elapsed);
