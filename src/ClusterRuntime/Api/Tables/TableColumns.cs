// Server-side printing columns per kind (what `kubectl get` and `-o wide` show).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Tables;

/// <summary>One Table column: header, type, priority (1 = only with -o wide) and how to compute a cell.</summary>
public sealed record TableColumn(string Name, string Type, int Priority, string Description, Func<JsonObject, DateTimeOffset, JsonNode?> Cell, string Format = "");

/// <summary>The columns of each kind.</summary>
public static class TableColumns
{
    static TableColumn Col(string name, Func<JsonObject, JsonNode?> cell, int priority = 0, string type = "string") =>
        new(name, type, priority, name, (o, _) => cell(o));

    /// <summary>The Name column every table starts with.</summary>
    public static readonly TableColumn NameCol = new("Name", "string", 0,
        "Name must be unique within a namespace.", (o, _) => Meta.Name(o), "name");

    /// <summary>The Age column (from metadata.creationTimestamp).</summary>
    public static readonly TableColumn AgeCol = new("Age", "string", 0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
        (o, now) => Age(Meta.Str(o, "creationTimestamp"), now));

    /// <summary>True for the columns that read only metadata (Name, Age), which work on any stored object.</summary>
    public static bool ReadsMetadataOnly(TableColumn c) => c == NameCol || c == AgeCol;

    /// <summary>The columns for <paramref name="kind"/>: Name, the kind's own columns, Age, then wide columns.</summary>
    public static IReadOnlyList<TableColumn> For(string kind) => kind switch
    {
        "Namespace" => [NameCol, Col("Status", o => S(o, "status", "phase")), AgeCol],
        "Node" =>
        [
            NameCol, Col("Status", NodeStatus), Col("Roles", NodeRoles), AgeCol, Col("Version", o => S(o, "status", "nodeInfo", "kubeletVersion")),
            Col("Internal-IP", o => NodeAddress(o, "InternalIP"), 1), Col("External-IP", o => NodeAddress(o, "ExternalIP"), 1),
            Col("OS-Image", o => S(o, "status", "nodeInfo", "osImage"), 1), Col("Kernel-Version", o => S(o, "status", "nodeInfo", "kernelVersion"), 1),
            Col("Container-Runtime", o => S(o, "status", "nodeInfo", "containerRuntimeVersion"), 1),
        ],
        "Pod" =>
        [
            NameCol, Col("Ready", PodReady), Col("Status", PodStatus), Col("Restarts", PodRestarts, type: "string"), AgeCol,
            Col("IP", o => S(o, "status", "podIP"), 1), Col("Node", o => S(o, "spec", "nodeName"), 1),
            Col("Nominated Node", o => S(o, "status", "nominatedNodeName"), 1), Col("Readiness Gates", _ => "<none>", 1),
        ],
        "Service" =>
        [
            NameCol, Col("Type", o => S(o, "spec", "type")), Col("Cluster-IP", o => S(o, "spec", "clusterIP")),
            Col("External-IP", ServiceExternalIp), Col("Port(s)", ServicePorts), AgeCol,
            Col("Selector", o => Pairs(o["spec"]?["selector"]), 1),
        ],
        "Endpoints" => [NameCol, Col("Endpoints", EndpointAddresses), AgeCol],
        "ConfigMap" => [NameCol, Col("Data", o => Count(o["data"]) + Count(o["binaryData"]), type: "integer"), AgeCol],
        "ResourceQuota" => [NameCol, AgeCol, Col("Request", o => QuotaCell(o, limits: false)), Col("Limit", o => QuotaCell(o, limits: true))],
        "LimitRange" => [NameCol, Col("Created At", o => S(o, "metadata", "creationTimestamp"))],
        "Secret" => [NameCol, Col("Type", o => S(o, "type")), Col("Data", o => Count(o["data"]), type: "integer"), AgeCol],
        // Upstream's event printer, over core/v1 Events (TableConverter converts an events.k8s.io/v1 one first).
        "Event" =>
        [
            new("Last Seen", "string", 0, "Time when this Event was last seen", (o, now) => EventLastSeen(o, now)),
            Col("Type", o => S(o, "type")), Col("Reason", o => S(o, "reason")), Col("Object", o => EventObject(o)),
            Col("Subobject", o => S(o, "involvedObject", "fieldPath") ?? "", 1), Col("Source", o => EventSource(o), 1),
            Col("Message", o => S(o, "message")?.Trim()),
            new("First Seen", "string", 1, "Time when this Event was first seen", (o, now) => EventFirstSeen(o, now)),
            Col("Count", o => o["series"] is JsonObject ? I(o, "series", "count") : Math.Max(1, I(o, "count")), 1, "integer"),
            new("Name", "string", 1, "Name must be unique within a namespace.", (o, _) => Meta.Name(o), "name"),
        ],
        "Deployment" =>
        [
            NameCol, Col("Ready", o => $"{I(o, "status", "readyReplicas")}/{I(o, "spec", "replicas")}"),
            Col("Up-to-date", o => I(o, "status", "updatedReplicas"), type: "integer"),
            Col("Available", o => I(o, "status", "availableReplicas"), type: "integer"), AgeCol,
            Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
            Col("Selector", o => Pairs(o["spec"]?["selector"]?["matchLabels"]), 1),
        ],
        "ReplicaSet" =>
        [
            NameCol, Col("Desired", o => I(o, "spec", "replicas"), type: "integer"), Col("Current", o => I(o, "status", "replicas"), type: "integer"),
            Col("Ready", o => I(o, "status", "readyReplicas"), type: "integer"), AgeCol,
            Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
        ],
        "DaemonSet" =>
        [
            NameCol, Col("Desired", o => I(o, "status", "desiredNumberScheduled"), type: "integer"),
            Col("Current", o => I(o, "status", "currentNumberScheduled"), type: "integer"),
            Col("Ready", o => I(o, "status", "numberReady"), type: "integer"),
            Col("Up-to-date", o => I(o, "status", "updatedNumberScheduled"), type: "integer"),
            Col("Available", o => I(o, "status", "numberAvailable"), type: "integer"),
            Col("Node Selector", o => Pairs(o["spec"]?["template"]?["spec"]?["nodeSelector"])), AgeCol,
            Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
            Col("Selector", o => Pairs(o["spec"]?["selector"]?["matchLabels"]), 1),
        ],
        "StatefulSet" =>
        [
            NameCol, Col("Ready", o => $"{I(o, "status", "readyReplicas")}/{I(o, "spec", "replicas")}"), AgeCol,
            Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
        ],
        "ControllerRevision" =>
        [
            NameCol, Col("Controller", RevisionController), Col("Revision", o => I(o, "revision"), type: "integer"), AgeCol,
        ],
        "PersistentVolumeClaim" =>
        [
            NameCol, Col("Status", o => Meta.Str(o, "deletionTimestamp") is null ? S(o, "status", "phase") : "Terminating"),
            Col("Volume", o => S(o, "spec", "volumeName") ?? ""), Col("Capacity", o => ClaimBound(o) ? Quantity(o["status"]?["capacity"]?["storage"]) : ""),
            Col("Access Modes", o => ClaimBound(o) ? AccessModes(o["status"]?["accessModes"]) : ""),
            Col("StorageClass", o => S(o, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class") ?? S(o, "spec", "storageClassName") ?? ""),
            Col("VolumeAttributesClass", o => S(o, "spec", "volumeAttributesClassName") is { Length: > 0 } c ? c : "<unset>"), AgeCol,
            Col("VolumeMode", o => S(o, "spec", "volumeMode") ?? "<unset>", 1),
        ],
        "Job" =>
        [
            NameCol, Col("Status", JobStatus), Col("Completions", JobCompletions),
            new("Duration", "string", 0, "Time required to complete the job.", JobDuration), AgeCol,
            Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
            Col("Selector", o => Selector(o["spec"]?["selector"]), 1),
        ],
        "CronJob" =>
        [
            NameCol, Col("Schedule", o => S(o, "spec", "schedule")), Col("Timezone", o => S(o, "spec", "timeZone") ?? "<none>"),
            Col("Suspend", o => o["spec"]?["suspend"] is JsonValue v && v.TryGetValue<bool>(out var b) ? (b ? "True" : "False") : "<unset>"),
            Col("Active", o => (o["status"]?["active"] as JsonArray)?.Count ?? 0, type: "integer"),
            new("Last Schedule", "string", 0, "Information when was the last time the job was successfully scheduled.",
                (o, now) => S(o, "status", "lastScheduleTime") is { } t ? Age(t, now) : "<none>"),
            AgeCol,
            Col("Containers", o => JobTemplateContainers(o, "name"), 1), Col("Images", o => JobTemplateContainers(o, "image"), 1),
            Col("Selector", o => Selector(o["spec"]?["jobTemplate"]?["spec"]?["selector"]), 1),
        ],
        "NetworkPolicy" => [NameCol, Col("Pod-Selector", o => Selector(o["spec"]?["podSelector"]) is { Length: > 0 } s ? s : "<none>"), AgeCol],
        "Lease" => [NameCol, Col("Holder", o => S(o, "spec", "holderIdentity")), AgeCol],
        "Ingress" =>
        [
            NameCol, Col("Class", o => S(o, "spec", "ingressClassName") ?? "<none>"),
            Col("Hosts", o => o["spec"]?["rules"] is JsonArray rules && rules.Any(r => r?["host"] is not null) ? string.Join(",", rules.Select(r => S(r!.AsObject(), "host") ?? "*")) : "*"),
            Col("Ports", o => o["spec"]?["tls"] is JsonArray { Count: > 0 } ? "80, 443" : "80"), AgeCol,
        ],
        "IngressClass" => [NameCol, Col("Controller", o => S(o, "spec", "controller")), AgeCol],
        "HorizontalPodAutoscaler" =>
        [
            NameCol, Col("Reference", o => $"{S(o, "spec", "scaleTargetRef", "kind")}/{S(o, "spec", "scaleTargetRef", "name")}"),
            Col("MinPods", o => o["spec"]?["minReplicas"] is null ? 1 : I(o, "spec", "minReplicas"), type: "integer"),
            Col("MaxPods", o => I(o, "spec", "maxReplicas"), type: "integer"), Col("Replicas", o => I(o, "status", "currentReplicas"), type: "integer"), AgeCol,
        ],
        "PodDisruptionBudget" =>
        [
            NameCol, Col("Min Available", o => o["spec"]?["minAvailable"]?.ToString() ?? "N/A"),
            Col("Max Unavailable", o => o["spec"]?["maxUnavailable"]?.ToString() ?? "N/A"),
            Col("Allowed Disruptions", o => I(o, "status", "disruptionsAllowed"), type: "integer"), AgeCol,
        ],
        "PriorityClass" =>
        [
            NameCol, Col("Value", o => I(o, "value"), type: "integer"),
            Col("Global-Default", o => o["globalDefault"] is JsonValue v && v.TryGetValue<bool>(out var b) && b ? "true" : "false"), AgeCol,
            Col("PreemptionPolicy", o => S(o, "preemptionPolicy") ?? "PreemptLowerPriority"),
        ],
        // As upstream prints CRDs: the creation time itself, not an age.
        "CustomResourceDefinition" => [NameCol, Col("Created At", o => Meta.Str(o, "creationTimestamp"), type: "date")],
        "EndpointSlice" =>
        [
            NameCol, Col("AddressType", o => S(o, "addressType")),
            Col("Ports", o => o["ports"] is JsonArray a && a.Count > 0 ? string.Join(",", a.Select(p => p?["port"]?.ToJsonString() ?? "<unset>")) : "<unset>"),
            Col("Endpoints", o => o["endpoints"] is JsonArray a && a.Count > 0 ? string.Join(",", a.SelectMany(e => e?["addresses"] as JsonArray ?? []).Select(x => x?.GetValue<string>())) : "<unset>"),
            AgeCol,
        ],
        _ => [NameCol, AgeCol],
    };

    /// <summary>A Kubernetes-style short age: 45s, 5m, 3h, 12d, 2y.</summary>
    public static string Age(string? timestamp, DateTimeOffset now) =>
        ParseTime(timestamp) is { } t ? HumanDuration(now - t) : "<unknown>";

    static DateTimeOffset? ParseTime(string? timestamp) =>
        timestamp is not null && DateTimeOffset.TryParse(timestamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>A duration as upstream's <c>duration.HumanDuration</c> prints it (negative counts as 0).</summary>
    public static string HumanDuration(TimeSpan d)
    {
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        if (d.TotalSeconds < 120) return $"{(int)d.TotalSeconds}s";
        if (d.TotalMinutes < 10) return $"{(int)d.TotalMinutes}m{d.Seconds}s";
        if (d.TotalHours < 3) return $"{(int)d.TotalMinutes}m";
        if (d.TotalHours < 8) return $"{(int)d.TotalHours}h{d.Minutes}m";
        if (d.TotalHours < 48) return $"{(int)d.TotalHours}h";
        if (d.TotalDays < 365 * 2) return $"{(int)d.TotalDays}d";
        return $"{(int)(d.TotalDays / 365)}y";
    }

    static string EventFirstSeen(JsonObject o, DateTimeOffset now) => Age(S(o, "firstTimestamp") ?? S(o, "eventTime"), now);

    static string EventLastSeen(JsonObject o, DateTimeOffset now) =>
        o["series"] is JsonObject ? Age(S(o, "series", "lastObservedTime"), now)
        : S(o, "lastTimestamp") is { } last ? Age(last, now) : EventFirstSeen(o, now);

    static string EventObject(JsonObject o) =>
        S(o, "involvedObject", "name") is { Length: > 0 } name
            ? $"{S(o, "involvedObject", "kind")?.ToLowerInvariant()}/{name}"
            : S(o, "involvedObject", "kind")?.ToLowerInvariant() ?? "";

    static string EventSource(JsonObject o)
    {
        var component = S(o, "source", "component") is { Length: > 0 } c ? c : S(o, "reportingComponent") ?? "";
        var instance = S(o, "source", "host") is { Length: > 0 } h ? h : S(o, "reportingInstance") ?? "";
        return instance.Length == 0 ? component : $"{component}, {instance}";
    }

    static string? S(JsonObject o, params string[] path)
    {
        JsonNode? n = o;
        foreach (var p in path) n = n is JsonObject jo ? jo[p] : null;
        return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    static long I(JsonObject o, params string[] path)
    {
        JsonNode? n = o;
        foreach (var p in path) n = n is JsonObject jo ? jo[p] : null;
        return n is JsonValue v && v.TryGetValue<long>(out var l) ? l : 0;
    }

    static int Count(JsonNode? n) => n is JsonObject o ? o.Count : 0;

    static string Join(JsonNode? n) => n is JsonArray a && a.Count > 0 ? string.Join(",", a.Select(x => x?.GetValue<string>())) : "<none>";

    // Upstream's printer: a LoadBalancer shows its ingress addresses (sorted) and external IPs, or <pending>; an
    // ExternalName its name; the other types their external IPs.
    static JsonNode? ServiceExternalIp(JsonObject o)
    {
        var external = o["spec"]?["externalIPs"] is JsonArray a ? a.Select(x => x?.GetValue<string>() ?? "").ToList() : [];
        switch (S(o, "spec", "type"))
        {
            case "ExternalName":
                return S(o, "spec", "externalName") ?? "";
            case "LoadBalancer":
                var ingress = o["status"]?["loadBalancer"]?["ingress"] is JsonArray i
                    ? i.OfType<JsonObject>().Select(x => S(x, "ip") is { Length: > 0 } ip ? ip : S(x, "hostname") ?? "").Where(s => s.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList()
                    : [];
                return ingress.Count + external.Count == 0 ? "<pending>" : string.Join(",", ingress.Concat(external));
            default:
                return external.Count > 0 ? string.Join(",", external) : "<none>";
        }
    }

    static string Pairs(JsonNode? n) => n is JsonObject o && o.Count > 0 ? string.Join(",", o.Select(kv => $"{kv.Key}={kv.Value?.GetValue<string>()}")) : "<none>";

    static string Containers(JsonObject o, string field) =>
        o["spec"]?["template"]?["spec"]?["containers"] is JsonArray a ? string.Join(",", a.Select(c => c?[field]?.GetValue<string>())) : "";

    static JsonNode? NodeStatus(JsonObject o)
    {
        var ready = (o["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Ready");
        var s = ready?["status"]?.GetValue<string>() == "True" ? "Ready" : ready is null ? "Unknown" : "NotReady";
        if (o["spec"]?["unschedulable"] is JsonValue u && u.TryGetValue<bool>(out var b) && b) s += ",SchedulingDisabled";
        return s;
    }

    static JsonNode? NodeRoles(JsonObject o)
    {
        var roles = new SortedSet<string>(StringComparer.Ordinal);
        if (o["metadata"]?["labels"] is JsonObject labels)
            foreach (var (k, v) in labels)
            {
                if (k.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal)) roles.Add(k["node-role.kubernetes.io/".Length..]);
                else if (k == "kubernetes.io/role" && v?.GetValue<string>() is { Length: > 0 } r) roles.Add(r);
            }
        return roles.Count == 0 ? "<none>" : string.Join(",", roles);
    }

    static JsonNode? NodeAddress(JsonObject o, string type) =>
        (o["status"]?["addresses"] as JsonArray)?.FirstOrDefault(a => a?["type"]?.GetValue<string>() == type)?["address"]?.GetValue<string>() ?? "<none>";

    static JsonNode? PodReady(JsonObject o)
    {
        var total = (o["spec"]?["containers"] as JsonArray)?.Count ?? 0;
        var ready = (o["status"]?["containerStatuses"] as JsonArray)?.Count(c => c?["ready"]?.GetValue<bool>() == true) ?? 0;
        return $"{ready}/{total}";
    }

    static JsonNode? PodStatus(JsonObject o)
    {
        if (Meta.Str(o, "deletionTimestamp") is not null) return "Terminating";
        foreach (var cs in o["status"]?["containerStatuses"] as JsonArray ?? [])
            if (cs?["state"]?["waiting"]?["reason"]?.GetValue<string>() is { } w) return w;
        return S(o, "status", "reason") ?? S(o, "status", "phase") ?? "Pending";
    }

    static JsonNode? PodRestarts(JsonObject o) =>
        ((o["status"]?["containerStatuses"] as JsonArray)?.Sum(c => c?["restartCount"]?.GetValue<long>() ?? 0) ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);

    static JsonNode? ServicePorts(JsonObject o) =>
        o["spec"]?["ports"] is JsonArray a && a.Count > 0
            ? string.Join(",", a.Select(p => $"{p?["port"]?.ToJsonString()}{(p?["nodePort"] is { } np ? ":" + np.ToJsonString() : "")}/{p?["protocol"]?.GetValue<string>() ?? "TCP"}"))
            : "<none>";

    static JsonNode? EndpointAddresses(JsonObject o)
    {
        var list = new List<string>();
        foreach (var subset in o["subsets"] as JsonArray ?? [])
        {
            var ports = (subset?["ports"] as JsonArray)?.Select(p => p?["port"]?.ToJsonString()).ToList() ?? [];
            foreach (var addr in subset?["addresses"] as JsonArray ?? [])
            {
                var ip = addr?["ip"]?.GetValue<string>();
                if (ports.Count == 0) list.Add(ip ?? "");
                else list.AddRange(ports.Select(p => $"{ip}:{p}"));
            }
        }
        return list.Count == 0 ? "<none>" : string.Join(",", list);
    }

    /// <summary>Upstream's order: Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running.</summary>
    static JsonNode? RevisionController(JsonObject o)
    {
        var owner = (o["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(r => r["controller"] is JsonValue c && c.TryGetValue<bool>(out var b) && b);
        if (owner is null) return "<none>";
        var apiVersion = S(owner, "apiVersion") ?? "";
        var group = apiVersion.Contains('/') ? apiVersion[..apiVersion.IndexOf('/')] : "";
        var kind = (S(owner, "kind") ?? "").ToLowerInvariant();
        return $"{(group.Length > 0 ? kind + "." + group : kind)}/{S(owner, "name")}";
    }

    static bool ClaimBound(JsonObject o) => S(o, "spec", "volumeName") is { Length: > 0 };

    // Upstream's quota cell: "NAME: USED/HARD" for each hard name, sorted; limits.* in the Limit column, the rest in Request.
    static string QuotaCell(JsonObject quota, bool limits) =>
        string.Join(", ", (quota["status"]?["hard"] as JsonObject ?? []).Select(p => p.Key)
            .Where(k => k.StartsWith("limits.", StringComparison.Ordinal) == limits).Order(StringComparer.Ordinal)
            .Select(k => $"{k}: {(quota["status"]?["used"]?[k] is { } u ? Quantity(u) : "0")}/{Quantity(quota["status"]?["hard"]?[k])}"));

    static string Quantity(JsonNode? n) => n is JsonValue v ? (v.TryGetValue<string>(out var s) ? s : v.ToJsonString()) : "";

    static string AccessModes(JsonNode? n)
    {
        var modes = (n as JsonArray)?.Select(m => (m as JsonValue)?.ToString()).ToHashSet() ?? [];
        var shown = new List<string>();
        if (modes.Contains("ReadWriteOnce")) shown.Add("RWO");
        if (modes.Contains("ReadOnlyMany")) shown.Add("ROX");
        if (modes.Contains("ReadWriteMany")) shown.Add("RWX");
        if (modes.Contains("ReadWriteOncePod")) shown.Add("RWOP");
        return string.Join(",", shown);
    }

    static JsonNode? JobStatus(JsonObject o)
    {
        bool Has(string type) => (o["status"]?["conditions"] as JsonArray ?? []).Any(c => S((JsonObject)c!, "type") == type && S((JsonObject)c!, "status") == "True");
        if (Has("Complete")) return "Complete";
        if (Has("Failed")) return "Failed";
        if (Meta.Str(o, "deletionTimestamp") is not null) return "Terminating";
        foreach (var type in new[] { "Suspended", "FailureTarget", "SuccessCriteriaMet" })
            if (Has(type)) return type;
        return "Running";
    }

    static JsonNode? JobCompletions(JsonObject o)
    {
        var succeeded = I(o, "status", "succeeded");
        if (o["spec"]?["completions"] is JsonValue c && c.TryGetValue<long>(out var completions)) return $"{succeeded}/{completions}";
        var parallelism = I(o, "spec", "parallelism");
        return parallelism > 1 ? $"{succeeded}/1 of {parallelism}" : $"{succeeded}/1";
    }

    static JsonNode? JobDuration(JsonObject o, DateTimeOffset now)
    {
        if (ParseTime(S(o, "status", "startTime")) is not { } start) return "";
        return HumanDuration((ParseTime(S(o, "status", "completionTime")) ?? now) - start);
    }

    /// <summary>A metav1.LabelSelector as upstream prints it (requirements sorted by key), "&lt;none&gt;" when absent.</summary>
    static string Selector(JsonNode? selector)
    {
        if (selector is not JsonObject sel) return "<none>";
        var parts = new List<(string Key, string Text)>();
        foreach (var (k, v) in sel["matchLabels"] as JsonObject ?? []) parts.Add((k, $"{k}={v?.GetValue<string>()}"));
        foreach (var e in (sel["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = S(e, "key") ?? "";
            var values = string.Join(",", (e["values"] as JsonArray ?? []).Select(x => x?.GetValue<string>()).Order(StringComparer.Ordinal));
            parts.Add((key, S(e, "operator") switch
            {
                "In" => $"{key} in ({values})",
                "NotIn" => $"{key} notin ({values})",
                "DoesNotExist" => "!" + key,
                _ => key,
            }));
        }
        return parts.Count == 0 ? "" : string.Join(",", parts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Text));
    }

    static string JobTemplateContainers(JsonObject o, string field) =>
        o["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"]?["containers"] is JsonArray a ? string.Join(",", a.Select(c => c?[field]?.GetValue<string>())) : "";
}
