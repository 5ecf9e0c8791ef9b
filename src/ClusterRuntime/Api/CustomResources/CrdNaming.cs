// Which CRDs' names are accepted: the first CRD (by creation) to claim a name in its group keeps it, as upstream's naming controller.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>The naming decision for one CRD: accepted, or the condition reason and message of its first conflict.</summary>
public sealed record CrdNamingResult(CustomResourceDefinition Crd, JsonObject Object, string? ConflictReason, string? ConflictMessage)
{
    /// <summary>True when all names are accepted.</summary>
    public bool Accepted => ConflictReason is null;
}

/// <summary>Decides names for all CRDs at once, deterministically, so every server reaches the same answer.</summary>
public static class CrdNaming
{
    /// <summary>
    /// Walks the CRDs in creation order (then name) and accepts each whose plural, singular, short names, kind and
    /// list kind are not yet taken in its group (by an accepted CRD or a built-in resource of that group).
    /// </summary>
    public static List<CrdNamingResult> Decide(IEnumerable<JsonObject> crds)
    {
        var taken = new Dictionary<string, (HashSet<string> Resources, HashSet<string> Kinds)>(StringComparer.Ordinal);
        (HashSet<string> Resources, HashSet<string> Kinds) Taken(string group)
        {
            if (taken.TryGetValue(group, out var t)) return t;
            t = ([], []);
            foreach (var r in ResourceTable.Resources.Where(r => r.Group == group))
            {
                t.Resources.UnionWith([r.Plural, r.Singular, .. r.ShortNames]);
                t.Kinds.UnionWith([r.Kind, r.ListKind]);
            }
            return taken[group] = t;
        }
        var results = new List<CrdNamingResult>();
        // CRDs whose names were accepted before keep them; creation times have whole seconds, so the name breaks ties.
        foreach (var obj in crds.OrderBy(o => WasAccepted(o) ? 0 : 1).ThenBy(o => Meta.Str(o, "creationTimestamp") ?? "", StringComparer.Ordinal)
                     .ThenBy(o => Meta.Name(o), StringComparer.Ordinal))
        {
            var crd = CustomResourceDefinition.Read(obj);
            var (resources, kinds) = Taken(crd.Group);
            var n = crd.Names;
            (string, string)? conflict =
                resources.Contains(n.Plural) ? ("PluralConflict", n.Plural)
                : resources.Contains(n.Singular) ? ("SingularConflict", n.Singular)
                : n.ShortNames.FirstOrDefault(resources.Contains) is { } s ? ("ShortNamesConflict", s)
                : kinds.Contains(n.Kind) ? ("KindConflict", n.Kind)
                : kinds.Contains(n.ListKind) ? ("ListKindConflict", n.ListKind)
                : null;
            if (conflict is var (reason, name))
            {
                results.Add(new(crd, obj, reason, $"\"{name}\" is already in use"));
                continue;
            }
            resources.UnionWith([n.Plural, n.Singular, .. n.ShortNames]);
            kinds.UnionWith([n.Kind, n.ListKind]);
            results.Add(new(crd, obj, null, null));
        }
        return results;
    }

    static bool WasAccepted(JsonObject crd) =>
        (crd["status"]?["conditions"] as JsonArray ?? []).Any(c => CrdNames.Str(c, "type") == "NamesAccepted" && CrdNames.Str(c, "status") == "True");

    /// <summary>
    /// The status the CRD should have: conditions NamesAccepted and Established (and Terminating while deleted),
    /// acceptedNames and storedVersions. Conditions that do not change keep their lastTransitionTime.
    /// </summary>
    public static JsonObject Status(CrdNamingResult result, JsonObject? current, string now, string? cleanupFailure)
    {
        var crd = result.Crd;
        var conditions = new List<(string Type, string Status, string Reason, string Message)>
        {
            result.Accepted ? ("NamesAccepted", "True", "NoConflicts", "no conflicts found") : ("NamesAccepted", "False", result.ConflictReason!, result.ConflictMessage!),
            result.Accepted ? ("Established", "True", "InitialNamesAccepted", "the initial names have been accepted") : ("Established", "False", "NotAccepted", "not all names are accepted"),
        };
        if (CustomResourceRegistry.IsTerminating(result.Object))
            conditions.Add(cleanupFailure is null
                ? ("Terminating", "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress")
                : ("Terminating", "True", "InstanceDeletionFailed", $"could not list instances: {cleanupFailure}"));
        var old = (current?["conditions"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var array = new JsonArray();
        foreach (var (type, status, reason, message) in conditions)
        {
            var before = old.FirstOrDefault(c => CrdNames.Str(c, "type") == type);
            var since = before is not null && CrdNames.Str(before, "status") == status ? CrdNames.Str(before, "lastTransitionTime") : now;
            array.Add((JsonNode)new JsonObject
            {
                ["type"] = type, ["status"] = status, ["lastTransitionTime"] = since, ["reason"] = reason, ["message"] = message,
            });
        }
        var stored = CrdNames.Strings(current?["storedVersions"]).ToList();
        if (crd.StorageVersion is { } sv && !stored.Contains(sv.Name)) stored.Add(sv.Name);
        return new JsonObject
        {
            ["conditions"] = array,
            ["acceptedNames"] = result.Accepted ? crd.Names.ToJson() : (current?["acceptedNames"]?.DeepClone() ?? new JsonObject { ["plural"] = "", ["kind"] = "" }),
            ["storedVersions"] = new JsonArray(stored.Select(s => (JsonNode)s).ToArray()),
        };
    }
}
