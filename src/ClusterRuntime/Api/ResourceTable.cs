// The table of served resource types; adding a type is adding a row here (and optionally table columns).
namespace Appliance.ClusterRuntime.Api;

/// <summary>All resource types the server serves, with lookups by group/version/plural.</summary>
public static class ResourceTable
{
    static readonly string[] None = [];
    static readonly string[] All = ["all"];

    // One instance, so that a view's StoredAs is the very row it stores in (records with arrays compare by reference).
    static readonly ApiResource CoreEvents = new("", "v1", "Event", "events", "event", true, ["ev"], None);

    /// <summary>Every served resource, in discovery order.</summary>
    public static readonly IReadOnlyList<ApiResource> Resources =
    [
        new("", "v1", "Namespace", "namespaces", "namespace", false, ["ns"], None, HasStatus: true),
        new("", "v1", "Node", "nodes", "node", false, ["no"], None, HasStatus: true),
        new("", "v1", "Pod", "pods", "pod", true, ["po"], All, HasStatus: true),
        new("", "v1", "Service", "services", "service", true, ["svc"], All, HasStatus: true),
        new("", "v1", "Endpoints", "endpoints", "endpoints", true, ["ep"], None),
        new("", "v1", "ConfigMap", "configmaps", "configmap", true, ["cm"], None),
        new("", "v1", "Secret", "secrets", "secret", true, None, None),
        new("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, ["sa"], None),
        CoreEvents,
        new("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true, ["pvc"], None, HasStatus: true),
        new("apps", "v1", "Deployment", "deployments", "deployment", true, ["deploy"], All, HasStatus: true, HasScale: true),
        new("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, ["rs"], All, HasStatus: true, HasScale: true),
        new("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, ["ds"], All, HasStatus: true),
        new("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, ["sts"], All, HasStatus: true, HasScale: true),
        new("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, None, None),
        new("batch", "v1", "Job", "jobs", "job", true, None, All, HasStatus: true),
        new("batch", "v1", "CronJob", "cronjobs", "cronjob", true, ["cj"], All, HasStatus: true),
        new("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, None, None),
        new("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, None, None),
        new("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", true, ["netpol"], None),
        new("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", true, ["ing"], None, HasStatus: true),
        new("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", false, None, None),
        new("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true, ["hpa"], All, HasStatus: true),
        new("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, ["pdb"], None, HasStatus: true),
        new("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", false, ["pc"], None),
        // events.k8s.io/v1 Events are the core/v1 Events seen through a conversion (Storage/EventConversion.cs).
        new("events.k8s.io", "v1", "Event", "events", "event", true, ["ev"], None) { StoredAs = CoreEvents },
        new("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, None, None),
        new("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, None, None),
        new("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, None, None),
        new("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false, None, None),
        new("", "v1", "LimitRange", "limitranges", "limitrange", true, ["limits"], None),
        new("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", true, ["quota"], None, HasStatus: true),
        new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", false, ["crd", "crds"], ["api-extensions"], HasStatus: true),
    ];


    static readonly Dictionary<(string, string, string), ApiResource> ByPlural =
        Resources.ToDictionary(r => (r.Group, r.Version, r.Plural));

    static readonly Dictionary<(string, string), ApiResource> ByKind =
        Resources.ToDictionary(r => (r.ApiVersion, r.Kind));

    /// <summary>Finds a resource by apiVersion and kind, as owner references name it; null when not served.</summary>
    public static ApiResource? FindKind(string apiVersion, string kind) =>
        ByKind.GetValueOrDefault((apiVersion, kind)) ?? CustomResources.CustomResourceRegistry.FindKind(apiVersion, kind);

    /// <summary>
    /// Every resource served now: the built-in rows, then the custom resources of established CustomResourceDefinitions
    /// (<see cref="CustomResources.CustomResourceRegistry"/>, which changes as CRDs come and go).
    /// </summary>
    public static IEnumerable<ApiResource> Served => Resources.Concat(CustomResources.CustomResourceRegistry.Resources);

    /// <summary>The groups in discovery order, each with its versions (a custom group's in version priority order).</summary>
    public static IEnumerable<(string Group, string Version)> GroupVersions =>
        Served.Select(r => (r.Group, r.Version)).Distinct();

    /// <summary>Finds a resource by group, version and plural name.</summary>
    public static ApiResource? Find(string group, string version, string plural) =>
        ByPlural.GetValueOrDefault((group, version, plural)) ?? CustomResources.CustomResourceRegistry.Find(group, version, plural);

    /// <summary>True when the group/version is served.</summary>
    public static bool HasGroupVersion(string group, string version) =>
        Served.Any(r => r.Group == group && r.Version == version);

    /// <summary>The resources that own their storage (every row but the views of another's, see <see cref="ApiResource.StoredAs"/>).</summary>
    public static IEnumerable<ApiResource> Stored => Served.Where(r => r.StoredAs is null);

    /// <summary>The namespace resource.</summary>
    public static ApiResource Namespaces => ByPlural[("", "v1", "namespaces")];
}
