// One rule of a Role or ClusterRole (rbac/v1 PolicyRule), and how it matches a request.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Auth.Rbac;

/// <summary>
/// A PolicyRule. A resource rule matches when verb, API group, resource (or <c>resource/subresource</c>, or
/// <c>*/subresource</c>) and, if it lists any, resource name match; a non-resource rule matches a path exactly or by a
/// trailing <c>*</c>. <c>*</c> matches anything in each list.
/// </summary>
public sealed record PolicyRule(string[] Verbs, string[] ApiGroups, string[] Resources, string[] ResourceNames, string[] NonResourceUrls)
{
    /// <summary>The wildcard of every list.</summary>
    public const string All = "*";

    /// <summary>A resource rule.</summary>
    public static PolicyRule For(string[] verbs, string[] groups, params string[] resources) => new(verbs, groups, resources, [], []);

    /// <summary>A non-resource rule.</summary>
    public static PolicyRule ForUrls(string[] verbs, params string[] urls) => new(verbs, [], [], [], urls);

    /// <summary>This rule narrowed to <paramref name="names"/>.</summary>
    public PolicyRule Named(params string[] names) => this with { ResourceNames = names };

    /// <summary>Reads a rule from its JSON form (missing lists are empty).</summary>
    public static PolicyRule FromJson(JsonObject o) =>
        new(Strings(o["verbs"]), Strings(o["apiGroups"]), Strings(o["resources"]), Strings(o["resourceNames"]), Strings(o["nonResourceURLs"]));

    /// <summary>The JSON form, with empty lists left out as upstream serializes them.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject();
        void Put(string key, string[] values)
        {
            if (values.Length == 0) return;
            var a = new JsonArray();
            foreach (var v in values) a.Add((JsonNode)v);
            o[key] = a;
        }
        Put("verbs", Verbs);
        Put("apiGroups", ApiGroups);
        Put("resources", Resources);
        Put("resourceNames", ResourceNames);
        Put("nonResourceURLs", NonResourceUrls);
        return o;
    }

    /// <summary>The rules of a Role or ClusterRole object.</summary>
    public static List<PolicyRule> RulesOf(JsonObject? role) =>
        role?["rules"] is JsonArray a ? a.OfType<JsonObject>().Select(FromJson).ToList() : [];

    static string[] Strings(JsonNode? n) =>
        n is JsonArray a ? a.Select(v => v is JsonValue s && s.TryGetValue<string>(out var t) ? t : "").ToArray() : [];

    /// <summary>True when this rule allows <paramref name="a"/>.</summary>
    public bool Allows(RequestAttributes a)
    {
        if (!Has(Verbs, a.Verb)) return false;
        if (!a.IsResourceRequest) return NonResourceUrls.Any(u => u == All || u == a.Path || u.EndsWith('*') && a.Path.StartsWith(u[..^1], StringComparison.Ordinal));
        return Has(ApiGroups, a.ApiGroup)
            && ResourceMatches(a.CombinedResource, a.Subresource)
            && (ResourceNames.Length == 0 || ResourceNames.Contains(a.Name));
    }

    bool ResourceMatches(string combined, string subresource) =>
        Resources.Any(r => r == All || r == combined || subresource.Length > 0 && r == "*/" + subresource);

    static bool Has(string[] list, string value) => list.Contains(All) || list.Contains(value);

    /// <summary>The text <c>kubectl describe</c> and the rules review show for a rule.</summary>
    public override string ToString() =>
        $"{{verbs: [{string.Join(",", Verbs)}], apiGroups: [{string.Join(",", ApiGroups.Select(g => $"\"{g}\""))}], resources: [{string.Join(",", Resources)}]"
        + (ResourceNames.Length > 0 ? $", resourceNames: [{string.Join(",", ResourceNames)}]" : "")
        + (NonResourceUrls.Length > 0 ? $", nonResourceURLs: [{string.Join(",", NonResourceUrls)}]" : "") + "}";
}
