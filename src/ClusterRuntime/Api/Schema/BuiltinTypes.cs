// The one description of the served built-in types: every field and its type, as the Kubernetes 1.32 API declares it.
namespace Appliance.ClusterRuntime.Api.Schema;

/// <summary>
/// The type table, one entry per Go type, grouped by package. Each entry lists <c>field:type</c> pairs; the notation
/// is described in README.md (<c>[]T</c> list, <c>{}T</c> map, <c>@key</c> strategic-merge key, <c>...T</c> inline).
/// Fields a site rarely uses may be left out: undeclared fields are stored as given.
/// </summary>
static partial class BuiltinTypes
{
    /// <summary>Package name → (type name → fields). A property, so it never sees the tables before they are initialized.</summary>
    public static IReadOnlyList<(string Package, IReadOnlyDictionary<string, string> Types)> Packages =>
    [
        (TypeCatalog.MetaPackage, Meta),
        (TypeCatalog.CorePackage, Core),
        ("io.k8s.api.apps.v1", Apps),
        ("io.k8s.api.batch.v1", Batch),
        ("io.k8s.api.coordination.v1", Coordination),
        ("io.k8s.api.discovery.v1", Discovery),
        ("io.k8s.api.autoscaling.v1", Autoscaling),
        ("io.k8s.api.events.v1", Events),
        ("io.k8s.api.networking.v1", Networking),
        ("io.k8s.api.rbac.v1", Rbac),
        ("io.k8s.api.networking.v1", NetworkingIngress),
        ("io.k8s.api.autoscaling.v2", AutoscalingV2),
        ("io.k8s.api.policy.v1", Policy),
        ("io.k8s.api.scheduling.v1", Scheduling),
        (TypeCatalog.PackageOf("apiextensions.k8s.io", "v1"), ApiExtensions),
        ("io.k8s.api.authentication.v1", Authentication),
        (TypeCatalog.CorePackage, Quota),
    ];

    static readonly IReadOnlyDictionary<string, string> Meta = new Dictionary<string, string>
    {
        ["TypeMeta"] = "kind:string apiVersion:string",
        ["ObjectMeta"] = """
            name:string generateName:string namespace:string selfLink:string uid:string resourceVersion:string
            generation:int64 creationTimestamp:time deletionTimestamp:time deletionGracePeriodSeconds:int64
            labels:{}string annotations:{}string ownerReferences:[]OwnerReference@uid finalizers:[]string@
            managedFields:[]ManagedFieldsEntry
            """,
        ["OwnerReference"] = "apiVersion:string kind:string name:string uid:string controller:boolean blockOwnerDeletion:boolean",
        ["ManagedFieldsEntry"] = "manager:string operation:string apiVersion:string time:time fieldsType:string fieldsV1:object subresource:string",
        ["LabelSelector"] = "matchLabels:{}string matchExpressions:[]LabelSelectorRequirement",
        ["LabelSelectorRequirement"] = "key:string operator:string values:[]string",
        ["Condition"] = "type:string status:string observedGeneration:int64 lastTransitionTime:time reason:string message:string",
        ["DeleteOptions"] = "...TypeMeta gracePeriodSeconds:int64 preconditions:Preconditions orphanDependents:boolean propagationPolicy:string dryRun:[]string",
        ["Preconditions"] = "uid:string resourceVersion:string",
        ["ListMeta"] = "selfLink:string resourceVersion:string continue:string remainingItemCount:int64",
        ["Status"] = "...TypeMeta metadata:ListMeta status:string message:string reason:string details:StatusDetails code:int32",
        ["StatusDetails"] = "name:string group:string kind:string uid:string causes:[]StatusCause retryAfterSeconds:int32",
        ["StatusCause"] = "reason:string message:string field:string",
        ["Patch"] = "",
    };

    static readonly IReadOnlyDictionary<string, string> Apps = new Dictionary<string, string>
    {
        ["Deployment"] = "...TypeMeta metadata:ObjectMeta spec:DeploymentSpec status:DeploymentStatus",
        ["DeploymentSpec"] = """
            replicas:int32 selector:LabelSelector template:PodTemplateSpec strategy:DeploymentStrategy minReadySeconds:int32
            revisionHistoryLimit:int32 paused:boolean progressDeadlineSeconds:int32
            """,
        ["DeploymentStrategy"] = "type:string rollingUpdate:RollingUpdateDeployment",
        ["RollingUpdateDeployment"] = "maxUnavailable:int-or-string maxSurge:int-or-string",
        ["DeploymentStatus"] = """
            observedGeneration:int64 replicas:int32 updatedReplicas:int32 readyReplicas:int32 availableReplicas:int32
            unavailableReplicas:int32 terminatingReplicas:int32 conditions:[]DeploymentCondition@type collisionCount:int32
            """,
        ["DeploymentCondition"] = "type:string status:string lastUpdateTime:time lastTransitionTime:time reason:string message:string",
        ["ReplicaSet"] = "...TypeMeta metadata:ObjectMeta spec:ReplicaSetSpec status:ReplicaSetStatus",
        ["ReplicaSetSpec"] = "replicas:int32 minReadySeconds:int32 selector:LabelSelector template:PodTemplateSpec",
        ["ReplicaSetStatus"] = """
            replicas:int32 fullyLabeledReplicas:int32 readyReplicas:int32 availableReplicas:int32 terminatingReplicas:int32
            observedGeneration:int64 conditions:[]ReplicaSetCondition@type
            """,
        ["ReplicaSetCondition"] = "type:string status:string lastTransitionTime:time reason:string message:string",
        ["DaemonSet"] = "...TypeMeta metadata:ObjectMeta spec:DaemonSetSpec status:DaemonSetStatus",
        ["DaemonSetSpec"] = "selector:LabelSelector template:PodTemplateSpec updateStrategy:DaemonSetUpdateStrategy minReadySeconds:int32 revisionHistoryLimit:int32",
        ["DaemonSetUpdateStrategy"] = "type:string rollingUpdate:RollingUpdateDaemonSet",
        ["RollingUpdateDaemonSet"] = "maxUnavailable:int-or-string maxSurge:int-or-string",
        ["DaemonSetStatus"] = """
            currentNumberScheduled:int32 numberMisscheduled:int32 desiredNumberScheduled:int32 numberReady:int32
            observedGeneration:int64 updatedNumberScheduled:int32 numberAvailable:int32 numberUnavailable:int32
            collisionCount:int32 conditions:[]DaemonSetCondition@type
            """,
        ["DaemonSetCondition"] = "type:string status:string lastTransitionTime:time reason:string message:string",
        ["StatefulSet"] = "...TypeMeta metadata:ObjectMeta spec:StatefulSetSpec status:StatefulSetStatus",
        ["StatefulSetSpec"] = """
            replicas:int32 selector:LabelSelector template:PodTemplateSpec volumeClaimTemplates:[]PersistentVolumeClaim
            serviceName:string podManagementPolicy:string updateStrategy:StatefulSetUpdateStrategy revisionHistoryLimit:int32
            minReadySeconds:int32 persistentVolumeClaimRetentionPolicy:StatefulSetPersistentVolumeClaimRetentionPolicy
            ordinals:StatefulSetOrdinals
            """,
        ["StatefulSetUpdateStrategy"] = "type:string rollingUpdate:RollingUpdateStatefulSetStrategy",
        ["RollingUpdateStatefulSetStrategy"] = "partition:int32 maxUnavailable:int-or-string",
        ["StatefulSetPersistentVolumeClaimRetentionPolicy"] = "whenDeleted:string whenScaled:string",
        ["StatefulSetOrdinals"] = "start:int32",
        ["StatefulSetStatus"] = """
            observedGeneration:int64 replicas:int32 readyReplicas:int32 currentReplicas:int32 updatedReplicas:int32
            currentRevision:string updateRevision:string collisionCount:int32 conditions:[]StatefulSetCondition@type
            availableReplicas:int32
            """,
        ["StatefulSetCondition"] = "type:string status:string lastTransitionTime:time reason:string message:string",
        ["ControllerRevision"] = "...TypeMeta metadata:ObjectMeta data:object revision:int64",
    };

    static readonly IReadOnlyDictionary<string, string> Batch = new Dictionary<string, string>
    {
        ["Job"] = "...TypeMeta metadata:ObjectMeta spec:JobSpec status:JobStatus",
        ["JobSpec"] = """
            parallelism:int32 completions:int32 activeDeadlineSeconds:int64 podFailurePolicy:object successPolicy:object
            backoffLimit:int32 backoffLimitPerIndex:int32 maxFailedIndexes:int32 selector:LabelSelector manualSelector:boolean
            template:PodTemplateSpec ttlSecondsAfterFinished:int32 completionMode:string suspend:boolean
            podReplacementPolicy:string managedBy:string
            """,
        ["JobStatus"] = """
            conditions:[]JobCondition@type startTime:time completionTime:time active:int32 succeeded:int32 failed:int32
            terminating:int32 completedIndexes:string failedIndexes:string uncountedTerminatedPods:UncountedTerminatedPods
            ready:int32
            """,
        ["JobCondition"] = "type:string status:string lastProbeTime:time lastTransitionTime:time reason:string message:string",
        ["UncountedTerminatedPods"] = "succeeded:[]string@ failed:[]string@",
        ["CronJob"] = "...TypeMeta metadata:ObjectMeta spec:CronJobSpec status:CronJobStatus",
        ["CronJobSpec"] = """
            schedule:string timeZone:string startingDeadlineSeconds:int64 concurrencyPolicy:string suspend:boolean
            jobTemplate:JobTemplateSpec successfulJobsHistoryLimit:int32 failedJobsHistoryLimit:int32
            """,
        ["JobTemplateSpec"] = "metadata:ObjectMeta spec:JobSpec",
        ["CronJobStatus"] = "active:[]ObjectReference lastScheduleTime:time lastSuccessfulTime:time",
    };

    static readonly IReadOnlyDictionary<string, string> Coordination = new Dictionary<string, string>
    {
        ["Lease"] = "...TypeMeta metadata:ObjectMeta spec:LeaseSpec",
        ["LeaseSpec"] = """
            holderIdentity:string leaseDurationSeconds:int32 acquireTime:time renewTime:time leaseTransitions:int32
            strategy:string preferredHolder:string
            """,
    };

    static readonly IReadOnlyDictionary<string, string> Discovery = new Dictionary<string, string>
    {
        ["EndpointSlice"] = "...TypeMeta metadata:ObjectMeta addressType:string endpoints:[]Endpoint ports:[]EndpointPort",
        ["Endpoint"] = """
            addresses:[]string@ conditions:EndpointConditions hostname:string targetRef:ObjectReference
            deprecatedTopology:{}string nodeName:string zone:string hints:EndpointHints
            """,
        ["EndpointConditions"] = "ready:boolean serving:boolean terminating:boolean",
        ["EndpointHints"] = "forZones:[]ForZone forNodes:[]ForNode",
        ["ForZone"] = "name:string",
        ["ForNode"] = "name:string",
        ["EndpointPort"] = "name:string protocol:string port:int32 appProtocol:string",
    };

    static readonly IReadOnlyDictionary<string, string> Autoscaling = new Dictionary<string, string>
    {
        ["Scale"] = "...TypeMeta metadata:ObjectMeta spec:ScaleSpec status:ScaleStatus",
        ["ScaleSpec"] = "replicas:int32",
        ["ScaleStatus"] = "replicas:int32 selector:string",
    };

    static readonly IReadOnlyDictionary<string, string> Events = new Dictionary<string, string>
    {
        ["Event"] = """
            ...TypeMeta metadata:ObjectMeta eventTime:time series:EventSeries reportingController:string reportingInstance:string
            action:string reason:string regarding:ObjectReference related:ObjectReference note:string type:string
            deprecatedSource:EventSource deprecatedFirstTimestamp:time deprecatedLastTimestamp:time deprecatedCount:int32
            """,
        ["EventSeries"] = "count:int32 lastObservedTime:time",
    };

    static readonly IReadOnlyDictionary<string, string> Networking = new Dictionary<string, string>
    {
        ["NetworkPolicy"] = "...TypeMeta metadata:ObjectMeta spec:NetworkPolicySpec",
        ["NetworkPolicySpec"] = "podSelector:LabelSelector ingress:[]NetworkPolicyIngressRule egress:[]NetworkPolicyEgressRule policyTypes:[]string",
        ["NetworkPolicyIngressRule"] = "ports:[]NetworkPolicyPort from:[]NetworkPolicyPeer",
        ["NetworkPolicyEgressRule"] = "ports:[]NetworkPolicyPort to:[]NetworkPolicyPeer",
        ["NetworkPolicyPort"] = "protocol:string port:int-or-string endPort:int32",
        ["NetworkPolicyPeer"] = "podSelector:LabelSelector namespaceSelector:LabelSelector ipBlock:IPBlock",
        ["IPBlock"] = "cidr:string except:[]string",
    };
}
