// The pods/binding subresource (assigning a pod to a node) and the rule that a plain update cannot move a pod.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>
/// What kube-apiserver's BindingREST does: a core/v1 Binding names a Node; the pod gets <c>spec.nodeName</c>, the
/// Binding's annotations and a PodScheduled=True condition in one write. The API handler and the in-process
/// scheduler both bind through <see cref="BindAsync(ObjectStore, string, string, JsonObject, CancellationToken, WriteHooks)"/>.
/// </summary>
public static class PodBinding
{
    static readonly ApiResource Pods = ResourceTable.Find("", "v1", "pods")!;
    static readonly ApiResource BindingResource = new("", "v1", "Binding", "pods/binding", "binding", true, [], []);
    static readonly Schema.TypeDef BindingType = Schema.TypeCatalog.Get(Schema.TypeCatalog.CorePackage + ".Binding");

    /// <summary>The fields upstream lets a pod update change (InPlacePodVerticalScaling off, as 1.32 ships).</summary>
    const string Updatable = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`," +
        "`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

    /// <summary>A Binding of pod <paramref name="pod"/> to node <paramref name="node"/>.</summary>
    public static JsonObject Binding(string pod, string node) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Binding",
        ["metadata"] = new JsonObject { ["name"] = pod },
        ["target"] = new JsonObject { ["kind"] = "Node", ["name"] = node },
    };

    /// <summary>Binds pod <paramref name="name"/> to <paramref name="node"/>; returns the bound pod.</summary>
    public static Task<JsonObject> BindAsync(ObjectStore store, string ns, string name, string node, CancellationToken ct) =>
        BindAsync(store, ns, name, Binding(name, node), ct);

    /// <summary>
    /// Applies <paramref name="binding"/> (a POST body to <c>pods/NAME/binding</c>) to pod <paramref name="name"/>:
    /// 404 when the pod is missing, 409 when it is already assigned or being deleted, 422 when the target is not a Node.
    /// </summary>
    public static async Task<JsonObject> BindAsync(ObjectStore store, string ns, string name, JsonObject binding, CancellationToken ct, WriteHooks? hooks = null)
    {
        Validation.CheckTypes(BindingType, binding, "");
        var bodyName = Meta.Name(binding);
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
            throw ApiException.BadRequest("name in URL does not match name in Binding object");
        var bodyNs = Meta.Namespace(binding);
        if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        var kind = binding["target"]?["kind"]?.GetValue<string>() ?? "";
        var node = binding["target"]?["name"]?.GetValue<string>() ?? "";
        if (kind is not ("" or "Node"))
            throw ApiException.Invalid("", "Binding", name, [("target.kind", $"Invalid value: \"{kind}\": must be empty or 'Node'")]);
        if (node.Length == 0)
            throw ApiException.Invalid("", "Binding", name, [("target.name", "Required value")]);
        var uid = Meta.Str(binding, "uid");
        var annotations = Meta.Of(binding)["annotations"] as JsonObject;
        var now = Meta.Time(store.Clock.GetUtcNow());
        return await store.UpdateWithStatusAsync(Pods, ns, name, pod =>
        {
            if (uid is not null && uid != Meta.Str(pod, "uid"))
                throw ApiException.Conflict(BindingResource, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {Meta.Str(pod, "uid")}");
            if (Meta.Str(pod, "deletionTimestamp") is not null)
                throw ApiException.Conflict(BindingResource, name, $"pod {name} is being deleted, cannot be assigned to a host");
            if (pod["spec"]?["nodeName"]?.GetValue<string>() is { Length: > 0 } bound)
                throw ApiException.Conflict(BindingResource, name, $"pod {name} is already assigned to node \"{bound}\"");
            if (pod["spec"] is not JsonObject spec) pod["spec"] = spec = new JsonObject();
            spec["nodeName"] = node;
            if (annotations is not null)
            {
                if (Meta.Of(pod)["annotations"] is not JsonObject own) Meta.Of(pod)["annotations"] = own = new JsonObject();
                foreach (var (k, v) in annotations) own[k] = v?.DeepClone();
            }
            SetScheduled(pod, now);
            return pod;
        }, ct, hooks);
    }

    /// <summary>Sets the PodScheduled condition True (its transition time only when it changes).</summary>
    static void SetScheduled(JsonObject pod, string now)
    {
        if (pod["status"] is not JsonObject status) pod["status"] = status = new JsonObject();
        if (status["conditions"] is not JsonArray conditions) status["conditions"] = conditions = [];
        var cond = conditions.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "PodScheduled");
        if (cond is null) conditions.Add((JsonNode)(cond = new JsonObject { ["type"] = "PodScheduled" }));
        if (cond["status"]?.GetValue<string>() != "True") cond["lastTransitionTime"] = now;
        cond["status"] = "True";
        cond["lastProbeTime"] = null;
        cond.Remove("reason");
        cond.Remove("message");
    }

    /// <summary>
    /// A plain update may not set or change <c>spec.nodeName</c> (only a Binding assigns a pod), with upstream's
    /// wording for a forbidden pod spec change. Upstream forbids most other pod spec changes too; this server checks
    /// the node name only.
    /// </summary>
    public static void CheckUpdate(JsonObject current, JsonObject updated)
    {
        var before = current["spec"]?["nodeName"]?.GetValue<string>() ?? "";
        var after = updated["spec"]?["nodeName"]?.GetValue<string>() ?? "";
        if (before == after) return;
        var diff = $"  core.PodSpec{{\n\t... // many fields unchanged\n-\tNodeName: \"{before}\",\n+\tNodeName: \"{after}\",\n\t... // many fields unchanged\n  }}\n";
        throw ApiException.Invalid(Pods, Meta.Name(current) ?? "", "spec", $"Forbidden: pod updates may not change fields other than {Updatable}\n{diff}");
    }
}
