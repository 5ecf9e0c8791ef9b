// The documentation of the built-in types: one sentence per type and per field, and the fields a valid object must set.
namespace Appliance.ClusterRuntime.Api.Schema;

/// <summary>
/// Descriptions and required fields, kept beside the type table (<see cref="BuiltinTypes"/>) and read by
/// <see cref="TypeCatalog"/> when it builds the types, so OpenAPI v2, v3 and <c>kubectl explain</c> share one text.
/// Keys are <c>Type</c> and <c>Type.field</c> (type names without package: the few names two packages share have the
/// same meaning); <c>*.field</c> is the fallback for a field name in any type. The sentences are our own words.
/// </summary>
static partial class TypeDocs
{
    /// <summary>The description of the type named <paramref name="type"/>, or null.</summary>
    public static string? Type(string type) => Docs.GetValueOrDefault(type);

    /// <summary>The description of a field, or null when neither the type nor the fallback describe it.</summary>
    public static string? Field(string type, string field) =>
        Docs.GetValueOrDefault($"{type}.{field}") ?? Docs.GetValueOrDefault("*." + field);

    /// <summary>True when an object of <paramref name="type"/> must set <paramref name="field"/> (upstream's <c>required</c>).</summary>
    public static bool IsRequired(string type, string field) => RequiredFields.Contains($"{type}.{field}");

    // Built on first use: the parts live in other files, whose static fields may not be initialized before this one.
    static Dictionary<string, string> Docs => LazyDocs.Value;

    static readonly Lazy<Dictionary<string, string>> LazyDocs = new(() => Join(Common, Meta, Core, Pods, Workloads, Others, Access, QuotaDocs));

    static Dictionary<string, string> Join(params IReadOnlyDictionary<string, string>[] parts)
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts)
            foreach (var (key, text) in part)
                if (!all.TryAdd(key, text)) throw new InvalidOperationException($"type docs: {key} described twice");
        return all;
    }

    // Upstream's required fields for the spec-side types (status types are written by controllers, not checked here).
    static readonly HashSet<string> RequiredFields = new(
        """
        OwnerReference.apiVersion OwnerReference.kind OwnerReference.name OwnerReference.uid
        LabelSelectorRequirement.key LabelSelectorRequirement.operator
        PodSpec.containers Container.name ContainerPort.containerPort EnvVar.name Volume.name
        VolumeMount.name VolumeMount.mountPath VolumeDevice.name VolumeDevice.devicePath
        KeyToPath.key KeyToPath.path ConfigMapKeySelector.key SecretKeySelector.key ObjectFieldSelector.fieldPath
        ResourceFieldSelector.resource HTTPGetAction.port TCPSocketAction.port GRPCAction.port HTTPHeader.name
        HTTPHeader.value SleepAction.seconds NodeSelectorRequirement.key NodeSelectorRequirement.operator
        NodeSelector.nodeSelectorTerms PodAffinityTerm.topologyKey WeightedPodAffinityTerm.weight
        WeightedPodAffinityTerm.podAffinityTerm PreferredSchedulingTerm.weight PreferredSchedulingTerm.preference
        TopologySpreadConstraint.maxSkew TopologySpreadConstraint.topologyKey TopologySpreadConstraint.whenUnsatisfiable
        Taint.key Taint.effect Sysctl.name Sysctl.value HostAlias.ip PodReadinessGate.conditionType PodSchedulingGate.name
        PodResourceClaim.name ResourceClaim.name ContainerResizePolicy.resourceName ContainerResizePolicy.restartPolicy
        SeccompProfile.type AppArmorProfile.type PodOS.name HostPathVolumeSource.path NFSVolumeSource.server
        NFSVolumeSource.path PersistentVolumeClaimVolumeSource.claimName CSIVolumeSource.driver DownwardAPIVolumeFile.path
        ServiceAccountTokenProjection.path TypedLocalObjectReference.kind TypedLocalObjectReference.name
        ServicePort.port Binding.target
        DeploymentSpec.selector DeploymentSpec.template ReplicaSetSpec.selector DaemonSetSpec.selector
        DaemonSetSpec.template StatefulSetSpec.selector StatefulSetSpec.template ControllerRevision.revision
        JobSpec.template CronJobSpec.schedule CronJobSpec.jobTemplate
        EndpointSlice.addressType EndpointSlice.endpoints Endpoint.addresses IPBlock.cidr
        IngressServiceBackend.name HTTPIngressRuleValue.paths HTTPIngressPath.pathType HTTPIngressPath.backend
        IngressClassParametersReference.kind IngressClassParametersReference.name
        HorizontalPodAutoscalerSpec.scaleTargetRef HorizontalPodAutoscalerSpec.maxReplicas
        CrossVersionObjectReference.kind CrossVersionObjectReference.name MetricSpec.type MetricTarget.type
        ResourceMetricSource.name ResourceMetricSource.target ContainerResourceMetricSource.name
        ContainerResourceMetricSource.target ContainerResourceMetricSource.container PodsMetricSource.metric
        PodsMetricSource.target ExternalMetricSource.metric ExternalMetricSource.target ObjectMetricSource.describedObject
        ObjectMetricSource.target ObjectMetricSource.metric MetricIdentifier.name HPAScalingPolicy.type
        HPAScalingPolicy.value HPAScalingPolicy.periodSeconds PriorityClass.value
        """.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    // Field names that mean the same thing wherever they appear.
    static IReadOnlyDictionary<string, string> Common => new Dictionary<string, string>
    {
        ["*.apiVersion"] = "The versioned schema of this object, as group/version (or just the version for the core group).",
        ["*.kind"] = "The kind of object this is, written in CamelCase; the server sets it on what it returns.",
        ["*.metadata"] = "Standard object metadata: name, namespace, labels, annotations and the fields the server keeps.",
        ["*.spec"] = "The desired state, as written by the user.",
        ["*.status"] = "The observed state, written by the system; it may lag behind the spec.",
        ["*.conditions"] = "The latest observations of the object's state, one entry per condition type.",
        ["*.lastTransitionTime"] = "When the condition last changed from one status to another.",
        ["*.lastUpdateTime"] = "When the condition was last updated.",
        ["*.lastProbeTime"] = "When the condition was last checked.",
        ["*.reason"] = "A short CamelCase word saying why the object is in this state.",
        ["*.message"] = "A human-readable explanation of the state.",
        ["*.observedGeneration"] = "The metadata.generation the controller last acted on.",
        ["*.selector"] = "A label query over the objects this one applies to.",
        ["*.template"] = "The pod template from which new pods are made.",
        ["*.minReadySeconds"] = "How long a new pod must be ready, with no container crashing, to count as available.",
        ["*.revisionHistoryLimit"] = "How many old revisions to keep so that a rollback is possible.",
        ["*.replicas"] = "The number of pods.",
        ["*.readyReplicas"] = "The number of pods whose Ready condition is true.",
        ["*.availableReplicas"] = "The number of pods that have been ready for at least minReadySeconds.",
        ["*.updatedReplicas"] = "The number of pods made from the current template.",
        ["*.collisionCount"] = "A counter used to make revision names unique when their hashes collide.",
        ["*.updateStrategy"] = "How existing pods are replaced when the template changes.",
        ["*.rollingUpdate"] = "Parameters of a rolling update, when the type is RollingUpdate.",
        ["*.maxUnavailable"] = "How many pods (a number or a percentage) may be unavailable during an update.",
        ["*.maxSurge"] = "How many pods (a number or a percentage) may be created above the desired count during an update.",
    };

    static IReadOnlyDictionary<string, string> Meta => new Dictionary<string, string>
    {
        ["TypeMeta"] = "The kind and apiVersion that every serialized object carries.",
        ["ObjectMeta"] = "Metadata every persisted object has: identity, labels, annotations, owners and server-kept bookkeeping.",
        ["ObjectMeta.name"] = "The object's name, unique among objects of its kind in its namespace; it cannot be changed later.",
        ["ObjectMeta.generateName"] = "A prefix from which the server makes a unique name when name is empty.",
        ["ObjectMeta.namespace"] = "The namespace the object lives in; empty for cluster-scoped kinds.",
        ["ObjectMeta.selfLink"] = "Deprecated and no longer set by the server.",
        ["ObjectMeta.uid"] = "A cluster-unique identifier the server assigns at creation; read-only.",
        ["ObjectMeta.resourceVersion"] = "An opaque version the server changes on every write; used for optimistic concurrency and watches.",
        ["ObjectMeta.generation"] = "A sequence number of changes to the desired state, set by the server.",
        ["ObjectMeta.creationTimestamp"] = "When the server created the object (UTC, RFC 3339); read-only.",
        ["ObjectMeta.deletionTimestamp"] = "When deletion was requested; set by the server while finalizers or a grace period hold the object.",
        ["ObjectMeta.deletionGracePeriodSeconds"] = "The seconds allowed for graceful termination once deletion is requested.",
        ["ObjectMeta.labels"] = "Key/value pairs used to organize objects and to select them.",
        ["ObjectMeta.annotations"] = "Key/value pairs for tools and people, not used for selection.",
        ["ObjectMeta.ownerReferences"] = "The objects this one depends on; when all owners are gone it is garbage collected.",
        ["ObjectMeta.finalizers"] = "Names of pending clean-up steps that must be removed before the object is deleted.",
        ["ObjectMeta.managedFields"] = "Which field manager set which fields, as server-side apply tracks it.",
        ["OwnerReference"] = "Names an owning object in the same namespace.",
        ["OwnerReference.apiVersion"] = "The owner's API version.",
        ["OwnerReference.kind"] = "The owner's kind.",
        ["OwnerReference.name"] = "The owner's name.",
        ["OwnerReference.uid"] = "The owner's uid.",
        ["OwnerReference.controller"] = "True when the owner is the managing controller; at most one owner may be.",
        ["OwnerReference.blockOwnerDeletion"] = "True when foreground deletion of the owner must wait for this object.",
        ["ManagedFieldsEntry"] = "The set of fields one manager owns, and the operation that set them.",
        ["ManagedFieldsEntry.manager"] = "The name of the field manager.",
        ["ManagedFieldsEntry.operation"] = "Apply or Update: how the fields were set.",
        ["ManagedFieldsEntry.apiVersion"] = "The version in which the fields were set.",
        ["ManagedFieldsEntry.time"] = "When the entry last changed.",
        ["ManagedFieldsEntry.fieldsType"] = "The format of fieldsV1; only FieldsV1 exists.",
        ["ManagedFieldsEntry.fieldsV1"] = "The owned fields, as a nested set.",
        ["ManagedFieldsEntry.subresource"] = "The subresource the write went to, or empty for the main resource.",
        ["LabelSelector"] = "A label query; all its requirements must hold, and an empty selector matches everything.",
        ["LabelSelector.matchLabels"] = "Labels that must have exactly these values.",
        ["LabelSelector.matchExpressions"] = "Further requirements on labels, each with an operator.",
        ["LabelSelectorRequirement"] = "One requirement: a label key, an operator and values.",
        ["LabelSelectorRequirement.key"] = "The label key.",
        ["LabelSelectorRequirement.operator"] = "In, NotIn, Exists or DoesNotExist.",
        ["LabelSelectorRequirement.values"] = "The values for In and NotIn; empty for Exists and DoesNotExist.",
        ["Condition"] = "One aspect of an object's current state.",
        ["Condition.type"] = "The condition's type, in CamelCase.",
        ["Condition.status"] = "True, False or Unknown.",
        ["DeleteOptions"] = "Options of a delete request.",
        ["DeleteOptions.gracePeriodSeconds"] = "Seconds to wait before the object is deleted; zero deletes at once.",
        ["DeleteOptions.preconditions"] = "Conditions that must hold for the delete to go ahead.",
        ["DeleteOptions.orphanDependents"] = "Deprecated: use propagationPolicy.",
        ["DeleteOptions.propagationPolicy"] = "Orphan, Background or Foreground: what happens to dependents.",
        ["DeleteOptions.dryRun"] = "When set to All, the request is checked but nothing is stored.",
        ["Preconditions"] = "Values the object must still have for an operation to proceed.",
        ["Preconditions.uid"] = "The uid the object must have.",
        ["Preconditions.resourceVersion"] = "The resourceVersion the object must have.",
        ["ListMeta"] = "Metadata of a list: its version and continuation token.",
        ["ListMeta.selfLink"] = "Deprecated and no longer set by the server.",
        ["ListMeta.resourceVersion"] = "The version of the collection at the time of the list, from which a watch can start.",
        ["ListMeta.continue"] = "A token for fetching the next page, when the list was cut by limit.",
        ["ListMeta.remainingItemCount"] = "An estimate of how many items remain after this page.",
        ["Status"] = "The result of an operation that returns no object, such as an error.",
        ["Status.status"] = "Success or Failure.",
        ["Status.details"] = "Extra data about the failure.",
        ["Status.code"] = "The HTTP status code.",
        ["StatusDetails"] = "What a failed request was about.",
        ["StatusDetails.name"] = "The name of the object concerned.",
        ["StatusDetails.group"] = "The group of the resource concerned.",
        ["StatusDetails.kind"] = "The kind of the resource concerned.",
        ["StatusDetails.uid"] = "The uid of the object concerned.",
        ["StatusDetails.causes"] = "The individual problems, for example one per invalid field.",
        ["StatusDetails.retryAfterSeconds"] = "How long the client should wait before trying again.",
        ["StatusCause"] = "One problem with a request.",
        ["StatusCause.field"] = "The path of the field at fault.",
        ["Patch"] = "A patch document; its format is given by the request's Content-Type.",
    };
}
