// The default ClusterRoles, Roles and bindings every server reconciles at start (upstream's bootstrappolicy).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Auth.Rbac;

/// <summary>
/// The default policy, as kube-apiserver 1.32 bootstraps it for the types this server serves: cluster-admin (bound to
/// <c>system:masters</c>), the aggregated admin/edit/view and their <c>system:aggregate-to-*</c> parts, discovery for
/// every authenticated user, public info for everyone, <c>system:node</c> (the node authorizer's static rules, bound
/// to no one, as upstream), and <c>system:appliance:node-agent</c>: what our agent reads beyond a kubelet (see
/// README.md). Every object carries <c>kubernetes.io/bootstrapping: rbac-defaults</c> and
/// <c>rbac.authorization.kubernetes.io/autoupdate: "true"</c>.
/// </summary>
public static class BootstrapPolicy
{
    /// <summary>The group every authenticated user is in.</summary>
    public const string Authenticated = Authenticator.AuthenticatedGroup;

    /// <summary>The group of requests without credentials.</summary>
    public const string Unauthenticated = "system:unauthenticated";

    /// <summary>The group whose members may do anything, whatever the bindings say.</summary>
    public const string Masters = "system:masters";

    /// <summary>The group of node identities.</summary>
    public const string Nodes = "system:nodes";

    /// <summary>The label and value on every default object.</summary>
    public const string BootstrapLabel = "kubernetes.io/bootstrapping", BootstrapValue = "rbac-defaults";

    /// <summary>The annotation that lets the reconciler update a default object (set to "false" to keep your edits).</summary>
    public const string AutoUpdate = "rbac.authorization.kubernetes.io/autoupdate";

    static readonly string[] Read = ["get", "list", "watch"];
    static readonly string[] Write = ["create", "delete", "deletecollection", "patch", "update"];
    static readonly string[] ReadWrite = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    static readonly string[] Core = [""];

    /// <summary>
    /// The rules of <c>system:node</c>, which the node authorizer applies to node identities for every resource its
    /// graph does not decide (NodeRestriction then holds nodes and pods to their own).
    /// </summary>
    public static readonly IReadOnlyList<PolicyRule> NodeRules =
    [
        PolicyRule.For(["create"], ["authentication.k8s.io"], "tokenreviews"),
        PolicyRule.For(["create"], ["authorization.k8s.io"], "subjectaccessreviews", "localsubjectaccessreviews"),
        PolicyRule.For(Read, Core, "services"),
        PolicyRule.For(["create", "get", "list", "watch"], Core, "nodes"),
        PolicyRule.For(["update", "patch"], Core, "nodes/status"),
        PolicyRule.For(["update", "patch"], Core, "nodes"),
        PolicyRule.For(["create", "update", "patch"], Core, "events"),
        PolicyRule.For(["create", "update", "patch"], ["events.k8s.io"], "events"),
        PolicyRule.For(Read, Core, "pods"),
        PolicyRule.For(["create", "delete"], Core, "pods"),
        PolicyRule.For(["update", "patch"], Core, "pods/status"),
        PolicyRule.For(["create"], Core, "pods/eviction"),
        PolicyRule.For(Read, Core, "secrets", "configmaps"),
        PolicyRule.For(["get"], Core, "persistentvolumeclaims", "persistentvolumes"),
        PolicyRule.For(["get"], Core, "endpoints"),
        PolicyRule.For(["create", "get", "list", "watch"], ["certificates.k8s.io"], "certificatesigningrequests"),
        PolicyRule.For(["get", "create", "update", "patch", "delete"], ["coordination.k8s.io"], "leases"),
        PolicyRule.For(["create"], Core, "serviceaccounts/token"),
        PolicyRule.For(["update", "patch"], Core, "persistentvolumeclaims/status"),
    ];

    static readonly PolicyRule[] Discovery =
    [
        PolicyRule.ForUrls(["get"], "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"),
    ];

    static readonly PolicyRule[] PublicInfo = [PolicyRule.ForUrls(["get"], "/healthz", "/livez", "/readyz", "/version", "/version/")];

    static readonly PolicyRule[] BasicUser =
    [
        PolicyRule.For(["create"], ["authorization.k8s.io"], "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
        PolicyRule.For(["create"], ["authentication.k8s.io"], "selfsubjectreviews"),
    ];

    static readonly PolicyRule[] AggregateToAdmin =
    [
        PolicyRule.For(["create"], ["authorization.k8s.io"], "localsubjectaccessreviews"),
        PolicyRule.For(ReadWrite, [RbacAuthorizer.Group], "rolebindings", "roles"),
    ];

    static readonly PolicyRule[] AggregateToEdit =
    [
        PolicyRule.For(["impersonate"], Core, "serviceaccounts"),
        PolicyRule.For(Write, Core, "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
        PolicyRule.For(["create"], Core, "pods/eviction"),
        PolicyRule.For(Write, Core, "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale",
            "secrets", "serviceaccounts", "services", "services/proxy"),
        PolicyRule.For(["create"], Core, "serviceaccounts/token"),
        PolicyRule.For(Write, ["apps"], "daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale",
            "statefulsets", "statefulsets/scale"),
        PolicyRule.For(Write, ["autoscaling"], "horizontalpodautoscalers"),
        PolicyRule.For(Write, ["batch"], "cronjobs", "jobs"),
        PolicyRule.For(Write, ["policy"], "poddisruptionbudgets"),
        PolicyRule.For(Write, ["networking.k8s.io"], "ingresses", "networkpolicies"),
        PolicyRule.For(ReadWrite, ["coordination.k8s.io"], "leases"),
        PolicyRule.For(Read, Core, "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
    ];

    static readonly PolicyRule[] AggregateToView =
    [
        PolicyRule.For(Read, Core, "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
            "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"),
        PolicyRule.For(Read, Core, "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
            "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"),
        PolicyRule.For(Read, Core, "namespaces"),
        // The agent's event sink reads an Event to count a repeat on it (Agent/Client/ApiEventSink.cs); upstream's
        // kubelet keeps the count in memory and patches.
        PolicyRule.For(["get"], Core, "events"),
        PolicyRule.For(Read, ["discovery.k8s.io"], "endpointslices"),
        PolicyRule.For(Read, ["apps"], "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
            "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"),
        PolicyRule.For(Read, ["autoscaling"], "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
        PolicyRule.For(Read, ["batch"], "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
        PolicyRule.For(Read, ["policy"], "poddisruptionbudgets", "poddisruptionbudgets/status"),
        PolicyRule.For(Read, ["networking.k8s.io"], "ingresses", "ingresses/status", "networkpolicies"),
        PolicyRule.For(Read, ["events.k8s.io"], "events"),
    ];

    /// <summary>
    /// What our agent reads beyond a kubelet (<see cref="NodeRules"/> already allow every pod, Service and Node):
    /// namespaces and NetworkPolicies (the network policy controller, which K3s runs in the agent under its own
    /// identity), EndpointSlices (the service proxy, upstream's kube-proxy identity) and get on Events (repeats). The cluster settings
    /// ConfigMap is a Role of its own in kube-system (<see cref="Roles"/>).
    /// </summary>
    static readonly PolicyRule[] NodeAgent =
    [
        PolicyRule.For(Read, Core, "namespaces"),
        // The agent's event sink reads an Event to count a repeat on it (Agent/Client/ApiEventSink.cs); upstream's
        // kubelet keeps the count in memory and patches.
        PolicyRule.For(["get"], Core, "events"),
        PolicyRule.For(Read, ["discovery.k8s.io"], "endpointslices"),
        PolicyRule.For(Read, ["networking.k8s.io"], "networkpolicies"),
    ];

    /// <summary>The ClusterRoles, in creation order.</summary>
    public static IEnumerable<JsonObject> ClusterRoles()
    {
        yield return Role("cluster-admin", [PolicyRule.For(["*"], ["*"], "*"), PolicyRule.ForUrls(["*"], "*")]);
        yield return Aggregated("admin", "admin", null);
        yield return Aggregated("edit", "edit", "admin");
        yield return Aggregated("view", "view", "edit");
        yield return Role("system:aggregate-to-admin", AggregateToAdmin, ("rbac.authorization.k8s.io/aggregate-to-admin", "true"));
        yield return Role("system:aggregate-to-edit", AggregateToEdit, ("rbac.authorization.k8s.io/aggregate-to-edit", "true"));
        yield return Role("system:aggregate-to-view", AggregateToView, ("rbac.authorization.k8s.io/aggregate-to-view", "true"));
        yield return Role("system:discovery", Discovery);
        yield return Role("system:basic-user", BasicUser);
        yield return Role("system:public-info-viewer", PublicInfo);
        yield return Role("system:node", NodeRules);
        yield return Role("system:appliance:node-agent", NodeAgent);
    }

    /// <summary>The ClusterRoleBindings.</summary>
    public static IEnumerable<JsonObject> ClusterRoleBindings()
    {
        yield return Binding("cluster-admin", "ClusterRole", "cluster-admin", null, Masters);
        yield return Binding("system:discovery", "ClusterRole", "system:discovery", null, Authenticated);
        yield return Binding("system:basic-user", "ClusterRole", "system:basic-user", null, Authenticated);
        yield return Binding("system:public-info-viewer", "ClusterRole", "system:public-info-viewer", null, Authenticated, Unauthenticated);
        yield return Binding("system:node", "ClusterRole", "system:node", null);
        yield return Binding("system:appliance:node-agent", "ClusterRole", "system:appliance:node-agent", null, Nodes);
    }

    /// <summary>The namespaced Roles: the agent reads the cluster settings ConfigMap and nothing else in kube-system.</summary>
    public static IEnumerable<JsonObject> Roles()
    {
        var role = Role("system:appliance:cluster-settings-reader", [PolicyRule.For(["get"], Core, "configmaps").Named("appliance-cluster")]);
        role["metadata"]!["namespace"] = "kube-system";
        yield return role;
    }

    /// <summary>The namespaced RoleBindings.</summary>
    public static IEnumerable<JsonObject> RoleBindings()
    {
        yield return Binding("system:appliance:cluster-settings-reader", "Role", "system:appliance:cluster-settings-reader", "kube-system", Nodes);
    }

    static JsonObject Metadata(string name, params (string Key, string Value)[] labels)
    {
        var l = new JsonObject { [BootstrapLabel] = BootstrapValue };
        foreach (var (k, v) in labels) l[k] = v;
        return new JsonObject { ["name"] = name, ["labels"] = l, ["annotations"] = new JsonObject { [AutoUpdate] = "true" } };
    }

    static JsonObject Role(string name, IEnumerable<PolicyRule> rules, params (string, string)[] labels)
    {
        var a = new JsonArray();
        foreach (var r in rules) a.Add((JsonNode)r.ToJson());
        return new JsonObject { ["metadata"] = Metadata(name, labels), ["rules"] = a };
    }

    /// <summary>An aggregated role: its rules come from the ClusterRoles labelled <c>aggregate-to-NAME</c>; it feeds <paramref name="into"/>.</summary>
    static JsonObject Aggregated(string name, string selects, string? into)
    {
        var role = into is null ? Role(name, []) : Role(name, [], ($"rbac.authorization.k8s.io/aggregate-to-{into}", "true"));
        role["aggregationRule"] = new JsonObject
        {
            ["clusterRoleSelectors"] = new JsonArray((JsonNode)new JsonObject
            {
                ["matchLabels"] = new JsonObject { [$"rbac.authorization.k8s.io/aggregate-to-{selects}"] = "true" },
            }),
        };
        return role;
    }

    static JsonObject Binding(string name, string roleKind, string role, string? ns, params string[] groups)
    {
        var subjects = new JsonArray();
        foreach (var g in groups) subjects.Add((JsonNode)new JsonObject { ["apiGroup"] = RbacAuthorizer.Group, ["kind"] = "Group", ["name"] = g });
        var meta = Metadata(name);
        if (ns is not null) meta["namespace"] = ns;
        return new JsonObject
        {
            ["metadata"] = meta,
            ["roleRef"] = new JsonObject { ["apiGroup"] = RbacAuthorizer.Group, ["kind"] = roleKind, ["name"] = role },
            ["subjects"] = subjects,
        };
    }
}
