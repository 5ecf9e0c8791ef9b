// metadata.managedFields: one entry per manager, operation, apiVersion and subresource, read and written as upstream encodes them.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>One <c>ManagedFieldsEntry</c>: who set which fields, by Apply or Update, and when.</summary>
sealed record ManagedEntry(string Manager, string Operation, string ApiVersion, string? Subresource, string? Time, FieldSet Fields)
{
    /// <summary>The operation of server-side apply.</summary>
    public const string Apply = "Apply";

    /// <summary>The operation of every other write.</summary>
    public const string Update = "Update";

    /// <summary>True when <paramref name="other"/> is the same manager (entries are merged per manager, operation, apiVersion and subresource).</summary>
    public bool SameManager(ManagedEntry other) =>
        Manager == other.Manager && Operation == other.Operation && ApiVersion == other.ApiVersion && (Subresource ?? "") == (other.Subresource ?? "");

    /// <summary>How conflicts name the manager: <c>"a"</c>, <c>"a" with subresource "status"</c>, <c>"a" using apps/v1 at TIME</c>.</summary>
    public string Describe()
    {
        var text = $"\"{Manager}\"";
        if (!string.IsNullOrEmpty(Subresource)) text += $" with subresource \"{Subresource}\"";
        if (Operation == Update) text += Time is null ? $" using {ApiVersion}" : $" using {ApiVersion} at {Time}";
        return text;
    }

    /// <summary>The entry as stored in metadata.managedFields.</summary>
    public JsonObject ToJson()
    {
        var obj = new JsonObject { ["manager"] = Manager, ["operation"] = Operation, ["apiVersion"] = ApiVersion };
        if (Time is not null) obj["time"] = Time;
        obj["fieldsType"] = "FieldsV1";
        obj["fieldsV1"] = Fields.ToFieldsV1();
        if (!string.IsNullOrEmpty(Subresource)) obj["subresource"] = Subresource;
        return obj;
    }
}

/// <summary>Reads and writes the managedFields of an object.</summary>
static class ManagedFields
{
    /// <summary>Upstream keeps at most this many Update entries; older ones fold into <see cref="AncientManager"/>.</summary>
    public const int MaxUpdateEntries = 10;

    /// <summary>The manager that holds the fields of folded old Update entries, as upstream names it.</summary>
    public const string AncientManager = "ancient-changes";

    /// <summary>
    /// The entries of <paramref name="obj"/>; null when it has no managedFields field. Entries that cannot be read
    /// (wrong fieldsType, malformed fieldsV1) make the whole list unreadable, and upstream then starts afresh: empty.
    /// </summary>
    public static List<ManagedEntry>? Read(JsonObject obj)
    {
        if (obj["metadata"] is not JsonObject meta || !meta.TryGetPropertyValue("managedFields", out var node) || node is null) return null;
        var entries = new List<ManagedEntry>();
        if (node is not JsonArray list) return entries;
        try
        {
            foreach (var item in list)
            {
                if (item is not JsonObject e) return [];
                if (Str(e, "fieldsType") is { } t && t != "FieldsV1") return [];
                var operation = Str(e, "operation");
                if (operation is not (ManagedEntry.Apply or ManagedEntry.Update)) return [];
                entries.Add(new ManagedEntry(Str(e, "manager") ?? "", operation, Str(e, "apiVersion") ?? "", Str(e, "subresource"), Str(e, "time"),
                    e["fieldsV1"] is null ? new FieldSet() : FieldSet.FromFieldsV1(e["fieldsV1"])));
            }
        }
        catch (InvalidDataException) { return []; }
        return entries;
    }

    static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>
    /// Writes <paramref name="entries"/> to <paramref name="obj"/>, as upstream orders them (Apply before Update, then
    /// by time, manager, apiVersion, subresource), without entries whose set is empty, and with old Update entries
    /// folded so that at most <see cref="MaxUpdateEntries"/> remain.
    /// </summary>
    public static void Write(JsonObject obj, List<ManagedEntry> entries)
    {
        var kept = entries.Where(e => !e.Fields.IsEmpty).ToList();
        kept = Cap(kept);
        kept.Sort((p, q) =>
        {
            int c = string.CompareOrdinal(p.Operation, q.Operation);
            if (c == 0) c = string.CompareOrdinal(p.Time ?? "", q.Time ?? "");
            if (c == 0) c = string.CompareOrdinal(p.Manager, q.Manager);
            if (c == 0) c = string.CompareOrdinal(p.ApiVersion, q.ApiVersion);
            return c != 0 ? c : string.CompareOrdinal(p.Subresource ?? "", q.Subresource ?? "");
        });
        var meta = Meta.Of(obj);
        if (kept.Count == 0) { meta.Remove("managedFields"); return; }
        var list = new JsonArray();
        foreach (var e in kept) list.Add((JsonNode)e.ToJson());
        meta["managedFields"] = list;
    }

    static List<ManagedEntry> Cap(List<ManagedEntry> entries)
    {
        var updates = entries.Where(e => e.Operation == ManagedEntry.Update).OrderBy(e => e.Time ?? "", StringComparer.Ordinal).ToList();
        if (updates.Count <= MaxUpdateEntries) return entries;
        var fold = updates.Take(updates.Count - MaxUpdateEntries + 1).ToList();
        var ancient = fold.Aggregate(new FieldSet(), (s, e) => s.Union(e.Fields));
        var last = fold[^1];
        var result = entries.Where(e => !fold.Contains(e)).ToList();
        result.Add(new ManagedEntry(AncientManager, ManagedEntry.Update, last.ApiVersion, null, last.Time, ancient));
        return result;
    }
}
