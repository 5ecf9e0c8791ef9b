// Defaults and validation of networking.k8s.io/v1 NetworkPolicies, with upstream's field paths and messages (422 Invalid).
using System.Net;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>
/// Upstream's defaulting (a port's protocol is TCP; <c>policyTypes</c> is Ingress, plus Egress when egress rules are
/// given) and the checks of <c>ValidateNetworkPolicySpec</c> users meet: label selectors, peers (one kind each:
/// an ipBlock or pod/namespace selectors), ports (protocol, number or IANA name, endPort), CIDRs and policy types.
/// </summary>
public static class NetworkPolicyValidation
{
    static readonly string[] Protocols = ["SCTP", "TCP", "UDP"];
    static readonly string[] PolicyTypes = ["Ingress", "Egress"];

    /// <summary>Fills the defaults upstream's SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort fill.</summary>
    public static void ApplyDefaults(JsonObject policy)
    {
        if (policy["spec"] is not JsonObject spec) policy["spec"] = spec = [];
        foreach (var direction in new[] { "ingress", "egress" })
            foreach (var rule in (spec[direction] as JsonArray ?? []).OfType<JsonObject>())
                foreach (var port in (rule["ports"] as JsonArray ?? []).OfType<JsonObject>())
                    port["protocol"] ??= "TCP";
        if (spec["policyTypes"] is JsonArray { Count: > 0 }) return;
        var types = new JsonArray("Ingress");
        if (spec["egress"] is JsonArray { Count: > 0 }) types.Add((JsonNode)"Egress");
        spec["policyTypes"] = types;
    }

    /// <summary>Throws 422 listing every problem of the policy's spec.</summary>
    public static void Check(ApiResource r, JsonObject policy)
    {
        var problems = new List<(string Field, string Message)>();
        var spec = policy["spec"] as JsonObject ?? [];
        CheckSelector(spec["podSelector"] as JsonObject, "spec.podSelector", problems);
        foreach (var (direction, peers) in new[] { ("ingress", "from"), ("egress", "to") })
        {
            var rules = spec[direction] as JsonArray ?? [];
            for (var i = 0; i < rules.Count; i++)
            {
                var path = $"spec.{direction}[{i}]";
                var rule = rules[i] as JsonObject ?? [];
                var ports = rule["ports"] as JsonArray ?? [];
                for (var j = 0; j < ports.Count; j++) CheckPort(ports[j] as JsonObject ?? [], $"{path}.ports[{j}]", problems);
                var list = rule[peers] as JsonArray ?? [];
                for (var j = 0; j < list.Count; j++) CheckPeer(list[j] as JsonObject ?? [], $"{path}.{peers}[{j}]", problems);
            }
        }
        var types = (spec["policyTypes"] as JsonArray ?? []).Select(t => t?.ToString() ?? "").ToList();
        for (var i = 0; i < types.Count; i++)
            if (!PolicyTypes.Contains(types[i]))
                problems.Add(($"spec.policyTypes[{i}]", $"Unsupported value: \"{types[i]}\": supported values: \"Ingress\", \"Egress\""));
        if (types.Count > 2) problems.Add(("spec.policyTypes", $"Invalid value: \"{string.Join(",", types)}\": may not specify more than two policyTypes"));
        if (problems.Count > 0) throw ApiException.Invalid(r.Group, r.Kind, Meta.Name(policy) ?? "", problems);
    }

    static void CheckPeer(JsonObject peer, string path, List<(string, string)> problems)
    {
        var selectors = 0;
        if (peer["podSelector"] is JsonObject pods) { selectors++; CheckSelector(pods, $"{path}.podSelector", problems); }
        if (peer["namespaceSelector"] is JsonObject namespaces) { selectors++; CheckSelector(namespaces, $"{path}.namespaceSelector", problems); }
        if (peer["ipBlock"] is JsonObject block)
        {
            if (selectors > 0) { problems.Add((path, "Forbidden: may not specify more than 1 peer type")); return; }
            CheckIpBlock(block, $"{path}.ipBlock", problems);
        }
        else if (selectors == 0) problems.Add((path, "Required value: must specify a peer"));
    }

    static void CheckIpBlock(JsonObject block, string path, List<(string, string)> problems)
    {
        var cidr = block["cidr"]?.ToString() ?? "";
        if (cidr.Length == 0) { problems.Add(($"{path}.cidr", "Required value")); return; }
        if (ParseCidr(cidr) is not { } network)
        {
            problems.Add(($"{path}.cidr", $"Invalid value: \"{cidr}\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
            return;
        }
        var except = block["except"] as JsonArray ?? [];
        for (var i = 0; i < except.Count; i++)
        {
            var text = except[i]?.ToString() ?? "";
            if (ParseCidr(text) is not { } inner)
                problems.Add(($"{path}.except[{i}]", $"Invalid value: \"{text}\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
            else if (inner.PrefixLength <= network.PrefixLength || !network.Contains(inner.BaseAddress))
                problems.Add(($"{path}.except[{i}]", $"Invalid value: \"{text}\": must be a strict subset of `cidr`"));
        }
    }

    static void CheckPort(JsonObject port, string path, List<(string, string)> problems)
    {
        var protocol = port["protocol"]?.ToString() ?? "TCP";
        if (!Protocols.Contains(protocol))
            problems.Add(($"{path}.protocol", $"Unsupported value: \"{protocol}\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
        var endPort = port["endPort"] is JsonValue e && e.TryGetValue<int>(out var end) ? end : (int?)null;
        switch (port["port"])
        {
            case null:
                if (endPort is not null) problems.Add(($"{path}.port", "Required value: must be specified when `endPort` is specified"));
                break;
            case JsonValue v when v.TryGetValue<string>(out var name):
                if (IanaServiceName(name) is { } why) problems.Add(($"{path}.port", $"Invalid value: \"{name}\": {why}"));
                if (endPort is not null) problems.Add(($"{path}.endPort", "Forbidden: may not be specified when `port` is non-numeric"));
                break;
            case JsonValue v when v.TryGetValue<int>(out var number):
                if (number is < 1 or > 65535) problems.Add(($"{path}.port", $"Invalid value: {number}: must be between 1 and 65535, inclusive"));
                if (endPort is int last)
                {
                    if (last < number) problems.Add(($"{path}.endPort", $"Invalid value: {last}: must be greater than or equal to `port`"));
                    if (last is < 1 or > 65535) problems.Add(($"{path}.endPort", $"Invalid value: {last}: must be between 1 and 65535, inclusive"));
                }
                break;
        }
    }

    static void CheckSelector(JsonObject? selector, string path, List<(string, string)> problems)
    {
        foreach (var (key, value) in selector?["matchLabels"] as JsonObject ?? [])
        {
            if (Validation.QualifiedName(key) is { } kp) problems.Add(($"{path}.matchLabels", $"Invalid value: \"{key}\": {kp}"));
            if (Validation.LabelValue(value?.ToString() ?? "") is { } vp) problems.Add(($"{path}.matchLabels", $"Invalid value: \"{value}\": {vp}"));
        }
        var expressions = selector?["matchExpressions"] as JsonArray ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var e = expressions[i] as JsonObject ?? [];
            var op = e["operator"]?.ToString() ?? "";
            var values = (e["values"] as JsonArray)?.Count ?? 0;
            var at = $"{path}.matchExpressions[{i}]";
            if (Validation.QualifiedName(e["key"]?.ToString() ?? "") is { } kp) problems.Add(($"{at}.key", $"Invalid value: \"{e["key"]}\": {kp}"));
            if (op is "In" or "NotIn" && values == 0) problems.Add(($"{at}.values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"));
            else if (op is "Exists" or "DoesNotExist" && values > 0) problems.Add(($"{at}.values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
            else if (op is not ("In" or "NotIn" or "Exists" or "DoesNotExist")) problems.Add(($"{at}.operator", $"Invalid value: \"{op}\": not a valid selector operator"));
        }
    }

    /// <summary>
    /// An IPv4 or IPv6 CIDR as upstream reads it: the address may have host bits set (<c>10.0.0.1/8</c> is
    /// <c>10.0.0.0/8</c>); null when it is not a CIDR at all.
    /// </summary>
    public static IPNetwork? ParseCidr(string text)
    {
        var slash = text.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(text[..slash], out var address) || !int.TryParse(text[(slash + 1)..], System.Globalization.NumberStyles.None, null, out var prefix))
            return null;
        var bytes = address.GetAddressBytes();
        if (prefix > bytes.Length * 8) return null;
        for (var bit = prefix; bit < bytes.Length * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), prefix);
    }

    // IsValidPortName: at most 15 characters, lower case letters, digits and '-', at least one letter, no '-' at
    // either end or twice in a row.
    static string? IanaServiceName(string name)
    {
        if (name.Length is 0 or > 15) return "must be no more than 15 characters";
        if (name.Any(c => c is not (>= 'a' and <= 'z' or >= '0' and <= '9' or '-'))) return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
        if (name.Contains("--", StringComparison.Ordinal)) return "must not contain consecutive hyphens";
        if (!name.Any(char.IsAsciiLetter)) return "must contain at least one letter (a-z)";
        if (name[0] == '-' || name[^1] == '-') return "must not begin or end with a hyphen";
        return null;
    }
}
