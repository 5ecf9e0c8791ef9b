// Field ownership on every write: Update entries from what a write changed, and server-side apply with its conflicts.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>
/// One write's field manager: <paramref name="manager"/> writing <paramref name="r"/> (through
/// <paramref name="subresource"/>, or the main resource when null) at <paramref name="now"/>.
/// </summary>
public sealed class FieldManager(ApiResource r, string manager, string? subresource, string now)
{
    /// <summary>The annotation client-side <c>kubectl apply</c> keeps its last applied configuration in.</summary>
    public const string LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    /// <summary>The only manager whose applies take over what client-side apply set (upstream's rule, see README).</summary>
    public const string KubectlManager = "kubectl";

    readonly TypeDef _type = TypeCatalog.For(r);

    /// <summary>The manager's name.</summary>
    public string Manager => manager;

    /// <summary>
    /// Records what a create or update changed, after defaults: the changed fields become this manager's (its Update
    /// entry), and no other manager owns them or the removed ones any longer. managedFields given in the request
    /// replace the stored ones first (an empty list resets them), as upstream allows.
    /// </summary>
    public void RecordUpdate(JsonObject? current, JsonObject prepared)
    {
        var entries = ManagedFields.Read(prepared) ?? (current is null ? null : ManagedFields.Read(current)) ?? [];
        var before = current is null ? new FieldSet() : Owned(ObjectFields.Of(current, _type, withMaps: true));
        var after = Owned(ObjectFields.Of(prepared, _type, withMaps: true));
        var changed = Changed(current, prepared, after);
        var removed = before.Difference(after);
        var self = new ManagedEntry(manager, ManagedEntry.Update, r.ApiVersion, subresource, now, new FieldSet());
        var mine = entries.FirstOrDefault(self.SameManager);
        var result = entries.Where(e => !self.SameManager(e)).Select(e => e with { Fields = e.Fields.Difference(changed).Difference(removed) }).ToList();
        var fields = (mine?.Fields ?? new FieldSet()).Union(changed).Difference(removed);
        result.Add(self with { Fields = fields, Time = mine is not null && fields.SameAs(mine.Fields) ? mine.Time : now });
        ManagedFields.Write(prepared, result);
    }

    /// <summary>
    /// Server-side apply of <paramref name="config"/> to <paramref name="current"/> (null: the object does not exist
    /// yet). Returns the merged object with its managedFields; 409 with upstream's conflict Status when the config
    /// changes fields other managers own, unless <paramref name="force"/>.
    /// </summary>
    public JsonObject Apply(JsonObject? current, JsonObject config, bool force)
    {
        if (config["metadata"]?["managedFields"] is not null) throw ApiException.BadRequest("metadata.managedFields must be nil");
        var live = current ?? new JsonObject { ["kind"] = r.Kind, ["apiVersion"] = r.ApiVersion, ["metadata"] = new JsonObject() };
        var entries = current is null ? [] : ManagedFields.Read(current) ?? [];
        var cfg = ForWrite(config);
        var applied = Owned(ObjectFields.Of(cfg, _type, withMaps: false));
        var merged = ObjectFields.Merge(live, cfg, _type);

        var self = new ManagedEntry(manager, ManagedEntry.Apply, r.ApiVersion, subresource, now, applied);
        var previous = entries.FirstOrDefault(self.SameManager);
        var others = entries.Where(e => !self.SameManager(e)).ToList();
        var ownedByOthers = others.Aggregate(new FieldSet(), (s, e) => s.Union(e.Fields));
        if (previous is not null)
            foreach (var (path, _) in previous.Fields.Difference(applied).Paths())
                if (!ownedByOthers.ContainsAtOrBelow(path)) ObjectFields.Remove(merged, path);

        var changed = Changed(live, merged, Owned(ObjectFields.Of(merged, _type, withMaps: true))).Intersection(applied);
        var conflicts = others.SelectMany(o => o.Fields.Intersection(changed).Paths().Select(p => (Owner: o, p.Path))).ToList();
        if (conflicts.Count > 0 && !force)
        {
            if (manager == KubectlManager && current is not null && AllowedByLastApplied(current) is { } allowed)
                conflicts = conflicts.Where(c => !allowed.Contains(c.Path)).ToList();
            if (conflicts.Count > 0) throw ConflictError(conflicts);
        }
        others = others.Select(o => o with { Fields = o.Fields.Difference(changed) }).ToList();
        others.Add(previous is not null && applied.SameAs(previous.Fields) ? self with { Time = previous.Time } : self);
        ManagedFields.Write(merged, others);
        return merged;
    }

    /// <summary>The part of an applied config this write may set: without status on the main resource, only status on the status subresource.</summary>
    JsonObject ForWrite(JsonObject config)
    {
        var cfg = config.DeepClone().AsObject();
        if (subresource == "status")
        {
            foreach (var k in cfg.Select(p => p.Key).ToList())
                if (k is not ("kind" or "apiVersion" or "metadata" or "status")) cfg.Remove(k);
        }
        else if (r.HasStatus) cfg.Remove("status");
        return cfg;
    }

    /// <summary>Fields nobody owns (identity, server-set metadata), and the part of the object another endpoint writes.</summary>
    FieldSet Owned(FieldSet set)
    {
        var strip = new FieldSet();
        strip.Add(["f:apiVersion"]);
        strip.Add(["f:kind"]);
        foreach (var f in new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp", "selfLink", "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds" })
            strip.Add(["f:metadata", "f:" + f]);
        var owned = set.Difference(strip);
        if (subresource == "status") return owned.Only("f:status");
        return r.HasStatus ? owned.Difference(owned.Only("f:status")) : owned;
    }

    /// <summary>The paths of <paramref name="afterSet"/> whose value in <paramref name="after"/> is new or different from <paramref name="before"/>.</summary>
    static FieldSet Changed(JsonObject? before, JsonObject after, FieldSet afterSet)
    {
        var changed = new FieldSet();
        foreach (var (path, leaf) in afterSet.Paths())
        {
            if (before is null || !ObjectFields.TryGet(before, path, out var old)) { changed.Add(path); continue; }
            if (leaf && ObjectFields.TryGet(after, path, out var now) && !JsonNode.DeepEquals(old, now)) changed.Add(path);
        }
        return changed;
    }

    /// <summary>
    /// Upstream's upgrade rule for client-side-applied objects: for the <c>kubectl</c> manager, conflicts on fields the
    /// last-applied-configuration annotation sets, to the value the object still has, are no conflicts.
    /// </summary>
    FieldSet? AllowedByLastApplied(JsonObject live)
    {
        if (live["metadata"]?["annotations"]?[LastAppliedAnnotation] is not JsonValue v || !v.TryGetValue<string>(out var text) || text.Length == 0) return null;
        JsonObject lastApplied;
        try { lastApplied = JsonNode.Parse(text) as JsonObject ?? throw new JsonException(); }
        catch (JsonException) { return null; }
        var set = Owned(ObjectFields.Of(lastApplied, _type, withMaps: false));
        var allowed = new FieldSet();
        foreach (var (path, leaf) in set.Paths())
            if (ObjectFields.TryGet(live, path, out var now) && (!leaf || (ObjectFields.TryGet(lastApplied, path, out var was) && JsonNode.DeepEquals(was, now))))
                allowed.Add(path);
        return allowed;
    }

    /// <summary>409 Conflict as kube-apiserver words it (kubectl prints the message and its help on resolving conflicts).</summary>
    static ApiException ConflictError(List<(ManagedEntry Owner, List<string> Path)> conflicts)
    {
        var causes = new JsonArray();
        foreach (var (owner, path) in conflicts)
            causes.Add((JsonNode)new JsonObject { ["reason"] = "FieldManagerConflict", ["message"] = $"conflict with {owner.Describe()}", ["field"] = FieldSet.Describe(path) });
        string message;
        if (conflicts.Count == 1)
            message = $"Apply failed with 1 conflict: conflict with {conflicts[0].Owner.Describe()}: {FieldSet.Describe(conflicts[0].Path)}";
        else
        {
            var lines = conflicts.GroupBy(c => c.Owner.Describe()).OrderBy(g => g.Key, StringComparer.Ordinal)
                .SelectMany(g => g.Select(c => "- " + FieldSet.Describe(c.Path)).Prepend($"conflicts with {g.Key}:"));
            message = $"Apply failed with {conflicts.Count} conflicts: {string.Join("\n", lines)}";
        }
        return new ApiException(409, "Conflict", message, new JsonObject { ["causes"] = causes });
    }
}
