// The agent's record of imported archives: each archive's SHA-256 and the images it produced, kept in the data dir.
using System.Text.Json;
using System.Text.Json.Serialization;
using Appliance.Common;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>
/// <c>DIR/preloaded-images.json</c>: for each archive path, the SHA-256 of its bytes when it was last imported and
/// the images that import named. The digest (not size and mtime) decides whether an archive changed.
/// </summary>
internal sealed class ImportRecord
{
    /// <summary>The record's file name inside the agent's data directory.</summary>
    public const string FileName = "preloaded-images.json";

    /// <summary>Archives by full path.</summary>
    [JsonPropertyName("archives")]
    public SortedDictionary<string, Entry> Archives { get; init; } = new(StringComparer.Ordinal);

    /// <summary>One archive's last import.</summary>
    public sealed record Entry(string Sha256, long Size, List<ImportedImage> Images);

    /// <summary>Loads the record; a missing file is an empty record, and so is a damaged one (everything is then
    /// imported again, which is always safe).</summary>
    public static ImportRecord Load(string path, Action<string> warn)
    {
        if (!File.Exists(path))
            return new ImportRecord();
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ImportRecordJson.Default.ImportRecord) ?? new ImportRecord();
        }
        catch (JsonException e)
        {
            warn($"{path}: unreadable record of imported archives ({e.Message}); importing every archive again");
            return new ImportRecord();
        }
    }

    /// <summary>Writes the record atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(this, ImportRecordJson.Default.ImportRecord));
}

/// <summary>The record's JSON shape, generated at build time (no reflection: trimmed and AOT builds read it too).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ImportRecord))]
internal sealed partial class ImportRecordJson : JsonSerializerContext;
