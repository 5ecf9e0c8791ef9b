// The logic of the store verbs: opens the store, runs the operation, prints text or JSON.
using System.Text.Json;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Archive;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Store.Import;

namespace Appliance.ImageBuilder.Cli.Store;

/// <summary>Runs one store subcommand.</summary>
public sealed class StoreCommand(CliContext ctx, string? storeOption)
{
    private string Root => StoreLocation.Resolve(storeOption, ctx.GetEnvironment);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>store add.</summary>
    public int Add(IReadOnlyList<string> paths, ImportOptions options, OutputFormat output)
    {
        foreach (var p in paths)
            if (!File.Exists(p) && !Directory.Exists(p))
                throw new UserInputException($"{p}: no such file or directory");
        var existed = Directory.Exists(Root);
        var store = ContentStore.OpenOrCreate(Root);
        // Progress only on a terminal and for text output; pipes and --output json stay line-based and quiet.
        var onTerminal = output == OutputFormat.Text && ReferenceEquals(ctx.Error, Console.Error) && !Console.IsErrorRedirected;
        var importer = new ImageImporter(store, options)
        {
            Progress = onTerminal ? m => ctx.Error.Write($"\r\u001b[K{m}") : null,
        };
        var added = new List<object>();
        try
        {
            foreach (var p in paths)
            {
                var r = importer.Add(p);
                if (onTerminal)
                    ctx.Error.Write("\r\u001b[K");
                foreach (var e in r.Entries)
                {
                    var name = StoreIndex.NameOf(e);
                    if (output == OutputFormat.Json)
                        added.Add(new { source = p, name, digest = e.Digest, mediaType = e.MediaType });
                    else
                        ctx.Out.WriteLine($"added {name ?? "<unnamed>"} {e.Digest} from {p}");
                }
            }
        }
        catch
        {
            // When this add made the store and added nothing to it, no empty store is left behind.
            // (A catch block, not a filter: filters run before the importer has cleaned up its staging area.)
            if (!existed)
                store.DeleteIfUnused();
            throw;
        }
        finally
        {
            if (onTerminal)
                ctx.Error.Write("\r\u001b[K");
        }
        if (output == OutputFormat.Json)
            ctx.Out.WriteLine(JsonSerializer.Serialize(added, Json));
        return ExitCodes.Ok;
    }

    /// <summary>store ls.</summary>
    public int List(OutputFormat output)
    {
        // Listing never creates a store: a missing one is simply empty.
        var images = File.Exists(Path.Combine(Root, "index.json")) ? ContentStore.Open(Root).List() : [];
        if (output == OutputFormat.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(images, Json));
            return ExitCodes.Ok;
        }
        var rows = images.Select(i => new[]
        {
            i.Name ?? "<none>", i.Tag ?? "<none>", string.Join(",", i.Platforms), i.Digest, FormatSize(i.Size),
        }).ToList();
        var header = new[] { "NAME", "TAG", "PLATFORMS", "DIGEST", "SIZE" };
        var widths = header.Select((h, c) => rows.Select(r => r[c].Length).Append(h.Length).Max()).ToArray();
        foreach (var r in rows.Prepend(header))
            ctx.Out.WriteLine(string.Join("  ", r.Select((v, c) => c == r.Length - 1 ? v : v.PadRight(widths[c]))).TrimEnd());
        return ExitCodes.Ok;
    }

    /// <summary>store rm.</summary>
    public int Remove(string reference)
    {
        foreach (var e in ContentStore.Open(Root).Remove(reference))
            ctx.Out.WriteLine($"removed {StoreIndex.NameOf(e) ?? "<unnamed>"} {e.Digest}");
        return ExitCodes.Ok;
    }

    /// <summary>store gc.</summary>
    public int Gc()
    {
        var r = ContentStore.Open(Root).Gc();
        ctx.Out.WriteLine($"removed {r.BlobsRemoved} blobs ({FormatSize(r.BytesFreed)}) and {r.LeftoversRemoved} leftovers");
        return ExitCodes.Ok;
    }

    /// <summary>store verify: exit 1 when a blob is corrupt or missing.</summary>
    public int Verify(OutputFormat output)
    {
        var problems = ContentStore.Open(Root).Verify();
        if (output == OutputFormat.Json)
            ctx.Out.WriteLine(JsonSerializer.Serialize(new { ok = problems.Count == 0, problems }, Json));
        foreach (var p in problems)
            ctx.Error.WriteLine($"appliance: {p}");
        if (problems.Count > 0)
            return ExitCodes.Failure;
        if (output == OutputFormat.Text)
            ctx.Out.WriteLine("store verified: every blob matches its digest");
        return ExitCodes.Ok;
    }

    /// <summary>store export; with a platform, the single-platform airgap form.</summary>
    public int Export(IReadOnlyList<string> references, string archive, Platform? platform)
    {
        var store = ContentStore.Open(Root);
        var when = OciArchiveWriter.TimestampFrom(ctx.GetEnvironment);
        if (platform is null)
        {
            var entries = store.Export(references, archive, when);
            ctx.Out.WriteLine($"wrote {entries.Count} images to {archive}");
        }
        else
        {
            var index = store.WriteAirgapArchive(references, platform, archive, when);
            ctx.Out.WriteLine($"wrote {index.Manifests.Count} {platform} images to {archive}");
        }
        return ExitCodes.Ok;
    }

    private static string FormatSize(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1 << 20 => $"{bytes / 1024.0:0.0} KiB",
        < 1 << 30 => $"{bytes / 1048576.0:0.0} MiB",
        _ => $"{bytes / 1073741824.0:0.00} GiB",
    };
}
