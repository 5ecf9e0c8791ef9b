// One row of the resource table: everything the generic REST storage needs to serve a type.
namespace Appliance.ClusterRuntime.Api;

/// <summary>A served resource type (kind, names, scope, verbs, subresources).</summary>
public sealed record ApiResource(
    string Group,
    string Version,
    string Kind,
    string Plural,
    string Singular,
    bool Namespaced,
    string[] ShortNames,
    string[] Categories,
    bool HasStatus = false,
    bool HasScale = false)
{
    /// <summary>The verbs every table resource supports.</summary>
    public static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    /// <summary>
    /// For a view of another resource's objects in another group/version (events.k8s.io/v1 Event over core/v1 Event):
    /// the resource that stores them. Its objects are converted on every read and write; null for ordinary resources.
    /// </summary>
    public ApiResource? StoredAs { get; init; }

    /// <summary>For a custom resource (served from a CustomResourceDefinition): its schema, columns and scale paths; null for built-in rows.</summary>
    public CustomResources.CustomResourceVersion? Custom { get; init; }

    /// <summary>Verbs served on this resource.</summary>
    public string[] Verbs => AllVerbs;

    /// <summary><c>v1</c> or <c>apps/v1</c>.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The list kind, e.g. <c>ConfigMapList</c> (a custom resource's <c>spec.names.listKind</c>).</summary>
    public string ListKind => Custom?.ListKind ?? Kind + "List";

    /// <summary>
    /// Datastore key prefix for all objects of this type, ending in '/': <c>/registry/&lt;plural&gt;/</c> as in
    /// kube-apiserver's etcd layout (plurals are unique across the served groups). The datastore's volatile-key
    /// policy matches <c>/registry/leases/</c> and <c>/registry/nodes/</c>. Custom resources live under
    /// <c>/registry/&lt;group&gt;/&lt;plural&gt;/</c>, as kube-apiserver stores them (a CRD's group has a dot, no plural does).
    /// </summary>
    public string KeyPrefix => Custom is null ? $"/registry/{Plural}/" : $"/registry/{Group}/{Plural}/";

    /// <summary>The key of one object.</summary>
    public string Key(string? ns, string name) => Namespaced ? $"{KeyPrefix}{ns}/{name}" : KeyPrefix + name;

    /// <summary>The list prefix for one namespace, or all namespaces when <paramref name="ns"/> is null.</summary>
    public string ListPrefix(string? ns) => Namespaced && ns is not null ? $"{KeyPrefix}{ns}/" : KeyPrefix;

    /// <summary><c>configmaps</c> or <c>deployments.apps</c>, as used in error messages.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}
