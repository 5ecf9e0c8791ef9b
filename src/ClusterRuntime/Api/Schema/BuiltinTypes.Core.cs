// The core/v1 part of the type table: namespaces, nodes, pods and everything a pod spec holds, services, config.
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class BuiltinTypes
{
    static readonly IReadOnlyDictionary<string, string> Core = new Dictionary<string, string>
    {
        ["Namespace"] = "...TypeMeta metadata:ObjectMeta spec:NamespaceSpec status:NamespaceStatus",
        ["NamespaceSpec"] = "finalizers:[]string",
        ["NamespaceStatus"] = "phase:string conditions:[]NamespaceCondition@type",
        ["NamespaceCondition"] = "type:string status:string lastTransitionTime:time reason:string message:string",

        ["Node"] = "...TypeMeta metadata:ObjectMeta spec:NodeSpec status:NodeStatus",
        ["NodeSpec"] = "podCIDR:string podCIDRs:[]string@ providerID:string unschedulable:boolean taints:[]Taint configSource:object externalID:string",
        ["Taint"] = "key:string value:string effect:string timeAdded:time",
        ["NodeStatus"] = """
            capacity:{}quantity allocatable:{}quantity phase:string conditions:[]NodeCondition@type addresses:[]NodeAddress@type
            daemonEndpoints:NodeDaemonEndpoints nodeInfo:NodeSystemInfo images:[]ContainerImage volumesInUse:[]string
            volumesAttached:[]AttachedVolume config:object runtimeHandlers:[]object features:object
            """,
        ["NodeCondition"] = "type:string status:string lastHeartbeatTime:time lastTransitionTime:time reason:string message:string",
        ["NodeAddress"] = "type:string address:string",
        ["NodeDaemonEndpoints"] = "kubeletEndpoint:DaemonEndpoint",
        ["DaemonEndpoint"] = "Port:int32",
        ["NodeSystemInfo"] = """
            machineID:string systemUUID:string bootID:string kernelVersion:string osImage:string containerRuntimeVersion:string
            kubeletVersion:string kubeProxyVersion:string operatingSystem:string architecture:string swap:object
            """,
        ["ContainerImage"] = "names:[]string sizeBytes:int64",
        ["AttachedVolume"] = "name:string devicePath:string",

        ["Pod"] = "...TypeMeta metadata:ObjectMeta spec:PodSpec status:PodStatus",
        ["Binding"] = "...TypeMeta metadata:ObjectMeta target:ObjectReference",
        ["PodTemplateSpec"] = "metadata:ObjectMeta spec:PodSpec",
        ["PodSpec"] = """
            volumes:[]Volume@name initContainers:[]Container@name containers:[]Container@name
            ephemeralContainers:[]EphemeralContainer@name restartPolicy:string terminationGracePeriodSeconds:int64
            activeDeadlineSeconds:int64 dnsPolicy:string nodeSelector:{}string serviceAccountName:string serviceAccount:string
            automountServiceAccountToken:boolean nodeName:string hostNetwork:boolean hostPID:boolean hostIPC:boolean
            shareProcessNamespace:boolean securityContext:PodSecurityContext imagePullSecrets:[]LocalObjectReference@name
            hostname:string subdomain:string affinity:Affinity schedulerName:string tolerations:[]Toleration
            hostAliases:[]HostAlias@ip priorityClassName:string priority:int32 dnsConfig:PodDNSConfig
            readinessGates:[]PodReadinessGate runtimeClassName:string enableServiceLinks:boolean preemptionPolicy:string
            overhead:{}quantity topologySpreadConstraints:[]TopologySpreadConstraint@topologyKey setHostnameAsFQDN:boolean
            os:PodOS hostUsers:boolean schedulingGates:[]PodSchedulingGate@name resourceClaims:[]PodResourceClaim@name
            resources:ResourceRequirements
            """,
        ["Container"] = """
            name:string image:string command:[]string args:[]string workingDir:string ports:[]ContainerPort@containerPort,protocol
            envFrom:[]EnvFromSource env:[]EnvVar@name resources:ResourceRequirements resizePolicy:[]ContainerResizePolicy
            restartPolicy:string volumeMounts:[]VolumeMount@mountPath volumeDevices:[]VolumeDevice@devicePath
            livenessProbe:Probe readinessProbe:Probe startupProbe:Probe lifecycle:Lifecycle terminationMessagePath:string
            terminationMessagePolicy:string imagePullPolicy:string securityContext:SecurityContext stdin:boolean
            stdinOnce:boolean tty:boolean
            """,
        ["EphemeralContainer"] = "...Container targetContainerName:string",
        ["ContainerPort"] = "name:string hostPort:int32 containerPort:int32 protocol:string hostIP:string",
        ["EnvVar"] = "name:string value:string valueFrom:EnvVarSource",
        ["EnvVarSource"] = "fieldRef:ObjectFieldSelector resourceFieldRef:ResourceFieldSelector configMapKeyRef:ConfigMapKeySelector secretKeyRef:SecretKeySelector",
        ["ObjectFieldSelector"] = "apiVersion:string fieldPath:string",
        ["ResourceFieldSelector"] = "containerName:string resource:string divisor:quantity",
        ["ConfigMapKeySelector"] = "name:string key:string optional:boolean",
        ["SecretKeySelector"] = "name:string key:string optional:boolean",
        ["EnvFromSource"] = "prefix:string configMapRef:ConfigMapEnvSource secretRef:SecretEnvSource",
        ["ConfigMapEnvSource"] = "name:string optional:boolean",
        ["SecretEnvSource"] = "name:string optional:boolean",
        ["ResourceRequirements"] = "limits:{}quantity requests:{}quantity claims:[]ResourceClaim",
        ["ResourceClaim"] = "name:string request:string",
        ["ContainerResizePolicy"] = "resourceName:string restartPolicy:string",
        ["VolumeMount"] = "name:string readOnly:boolean recursiveReadOnly:string mountPath:string subPath:string mountPropagation:string subPathExpr:string",
        ["VolumeDevice"] = "name:string devicePath:string",
        ["Probe"] = """
            exec:ExecAction httpGet:HTTPGetAction tcpSocket:TCPSocketAction grpc:GRPCAction initialDelaySeconds:int32
            timeoutSeconds:int32 periodSeconds:int32 successThreshold:int32 failureThreshold:int32
            terminationGracePeriodSeconds:int64
            """,
        ["ExecAction"] = "command:[]string",
        ["HTTPGetAction"] = "path:string port:int-or-string host:string scheme:string httpHeaders:[]HTTPHeader",
        ["HTTPHeader"] = "name:string value:string",
        ["TCPSocketAction"] = "port:int-or-string host:string",
        ["GRPCAction"] = "port:int32 service:string",
        ["Lifecycle"] = "postStart:LifecycleHandler preStop:LifecycleHandler stopSignal:string",
        ["LifecycleHandler"] = "exec:ExecAction httpGet:HTTPGetAction tcpSocket:TCPSocketAction sleep:SleepAction",
        ["SleepAction"] = "seconds:int64",
        ["SecurityContext"] = """
            capabilities:Capabilities privileged:boolean seLinuxOptions:SELinuxOptions windowsOptions:object runAsUser:int64
            runAsGroup:int64 runAsNonRoot:boolean readOnlyRootFilesystem:boolean allowPrivilegeEscalation:boolean
            procMount:string seccompProfile:SeccompProfile appArmorProfile:AppArmorProfile
            """,
        ["Capabilities"] = "add:[]string drop:[]string",
        ["SELinuxOptions"] = "user:string role:string type:string level:string",
        ["SeccompProfile"] = "type:string localhostProfile:string",
        ["AppArmorProfile"] = "type:string localhostProfile:string",
        ["PodSecurityContext"] = """
            seLinuxOptions:SELinuxOptions windowsOptions:object runAsUser:int64 runAsGroup:int64 runAsNonRoot:boolean
            supplementalGroups:[]int64 supplementalGroupsPolicy:string fsGroup:int64 sysctls:[]Sysctl
            fsGroupChangePolicy:string seccompProfile:SeccompProfile appArmorProfile:AppArmorProfile seLinuxChangePolicy:string
            """,
        ["Sysctl"] = "name:string value:string",
        ["LocalObjectReference"] = "name:string",
        ["TypedLocalObjectReference"] = "apiGroup:string kind:string name:string",
        ["ObjectReference"] = "kind:string namespace:string name:string uid:string apiVersion:string resourceVersion:string fieldPath:string",
        ["Affinity"] = "nodeAffinity:NodeAffinity podAffinity:PodAffinity podAntiAffinity:PodAntiAffinity",
        ["NodeAffinity"] = "requiredDuringSchedulingIgnoredDuringExecution:NodeSelector preferredDuringSchedulingIgnoredDuringExecution:[]PreferredSchedulingTerm",
        ["NodeSelector"] = "nodeSelectorTerms:[]NodeSelectorTerm",
        ["NodeSelectorTerm"] = "matchExpressions:[]NodeSelectorRequirement matchFields:[]NodeSelectorRequirement",
        ["NodeSelectorRequirement"] = "key:string operator:string values:[]string",
        ["PreferredSchedulingTerm"] = "weight:int32 preference:NodeSelectorTerm",
        ["PodAffinity"] = "requiredDuringSchedulingIgnoredDuringExecution:[]PodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution:[]WeightedPodAffinityTerm",
        ["PodAntiAffinity"] = "...PodAffinity",
        ["PodAffinityTerm"] = """
            labelSelector:LabelSelector namespaces:[]string topologyKey:string namespaceSelector:LabelSelector
            matchLabelKeys:[]string mismatchLabelKeys:[]string
            """,
        ["WeightedPodAffinityTerm"] = "weight:int32 podAffinityTerm:PodAffinityTerm",
        ["Toleration"] = "key:string operator:string value:string effect:string tolerationSeconds:int64",
        ["HostAlias"] = "ip:string hostnames:[]string",
        ["PodDNSConfig"] = "nameservers:[]string searches:[]string options:[]PodDNSConfigOption",
        ["PodDNSConfigOption"] = "name:string value:string",
        ["PodReadinessGate"] = "conditionType:string",
        ["TopologySpreadConstraint"] = """
            maxSkew:int32 topologyKey:string whenUnsatisfiable:string labelSelector:LabelSelector minDomains:int32
            nodeAffinityPolicy:string nodeTaintsPolicy:string matchLabelKeys:[]string
            """,
        ["PodOS"] = "name:string",
        ["PodSchedulingGate"] = "name:string",
        ["PodResourceClaim"] = "name:string resourceClaimName:string resourceClaimTemplateName:string",

        ["Volume"] = """
            name:string hostPath:HostPathVolumeSource emptyDir:EmptyDirVolumeSource secret:SecretVolumeSource
            nfs:NFSVolumeSource persistentVolumeClaim:PersistentVolumeClaimVolumeSource configMap:ConfigMapVolumeSource
            downwardAPI:DownwardAPIVolumeSource projected:ProjectedVolumeSource csi:CSIVolumeSource ephemeral:object
            image:ImageVolumeSource iscsi:object
            gcePersistentDisk:object awsElasticBlockStore:object gitRepo:object glusterfs:object rbd:object flexVolume:object cinder:object cephfs:object flocker:object fc:object azureFile:object azureDisk:object vsphereVolume:object quobyte:object photonPersistentDisk:object portworxVolume:object scaleIO:object storageos:object
            """,
        ["HostPathVolumeSource"] = "path:string type:string",
        ["EmptyDirVolumeSource"] = "medium:string sizeLimit:quantity",
        ["SecretVolumeSource"] = "secretName:string items:[]KeyToPath defaultMode:int32 optional:boolean",
        ["KeyToPath"] = "key:string path:string mode:int32",
        ["NFSVolumeSource"] = "server:string path:string readOnly:boolean",
        ["PersistentVolumeClaimVolumeSource"] = "claimName:string readOnly:boolean",
        ["ConfigMapVolumeSource"] = "name:string items:[]KeyToPath defaultMode:int32 optional:boolean",
        ["DownwardAPIVolumeSource"] = "items:[]DownwardAPIVolumeFile defaultMode:int32",
        ["DownwardAPIVolumeFile"] = "path:string fieldRef:ObjectFieldSelector resourceFieldRef:ResourceFieldSelector mode:int32",
        ["ProjectedVolumeSource"] = "sources:[]VolumeProjection defaultMode:int32",
        ["VolumeProjection"] = """
            secret:SecretProjection downwardAPI:DownwardAPIProjection configMap:ConfigMapProjection
            serviceAccountToken:ServiceAccountTokenProjection clusterTrustBundle:object
            """,
        ["SecretProjection"] = "name:string items:[]KeyToPath optional:boolean",
        ["ConfigMapProjection"] = "name:string items:[]KeyToPath optional:boolean",
        ["DownwardAPIProjection"] = "items:[]DownwardAPIVolumeFile",
        ["ServiceAccountTokenProjection"] = "audience:string expirationSeconds:int64 path:string",
        ["CSIVolumeSource"] = "driver:string readOnly:boolean fsType:string volumeAttributes:{}string nodePublishSecretRef:LocalObjectReference",
        ["ImageVolumeSource"] = "reference:string pullPolicy:string",
        ["PersistentVolumeClaim"] = "...TypeMeta metadata:ObjectMeta spec:PersistentVolumeClaimSpec status:object",
        ["PersistentVolumeClaimSpec"] = """
            accessModes:[]string selector:LabelSelector resources:VolumeResourceRequirements volumeName:string
            storageClassName:string volumeMode:string dataSource:TypedLocalObjectReference dataSourceRef:object
            volumeAttributesClassName:string
            """,
        ["VolumeResourceRequirements"] = "limits:{}quantity requests:{}quantity",

        ["PodStatus"] = """
            observedGeneration:int64 phase:string conditions:[]PodCondition@type message:string reason:string
            nominatedNodeName:string hostIP:string hostIPs:[]HostIP podIP:string podIPs:[]PodIP@ip startTime:time
            initContainerStatuses:[]ContainerStatus containerStatuses:[]ContainerStatus qosClass:string
            ephemeralContainerStatuses:[]ContainerStatus resize:string resourceClaimStatuses:[]object
            """,
        ["PodCondition"] = "type:string observedGeneration:int64 status:string lastProbeTime:time lastTransitionTime:time reason:string message:string",
        ["HostIP"] = "ip:string",
        ["PodIP"] = "ip:string",
        ["ContainerStatus"] = """
            name:string state:ContainerState lastState:ContainerState ready:boolean restartCount:int32 image:string
            imageID:string containerID:string started:boolean allocatedResources:{}quantity resources:ResourceRequirements
            volumeMounts:[]VolumeMountStatus user:object allocatedResourcesStatus:[]object stopSignal:string
            """,
        ["ContainerState"] = "waiting:ContainerStateWaiting running:ContainerStateRunning terminated:ContainerStateTerminated",
        ["ContainerStateWaiting"] = "reason:string message:string",
        ["ContainerStateRunning"] = "startedAt:time",
        ["ContainerStateTerminated"] = "exitCode:int32 signal:int32 reason:string message:string startedAt:time finishedAt:time containerID:string",
        ["VolumeMountStatus"] = "name:string mountPath:string readOnly:boolean recursiveReadOnly:string",

        ["Service"] = "...TypeMeta metadata:ObjectMeta spec:ServiceSpec status:ServiceStatus",
        ["ServiceSpec"] = """
            ports:[]ServicePort@port,protocol selector:{}string clusterIP:string clusterIPs:[]string type:string externalIPs:[]string
            sessionAffinity:string loadBalancerIP:string loadBalancerSourceRanges:[]string externalName:string
            externalTrafficPolicy:string healthCheckNodePort:int32 publishNotReadyAddresses:boolean
            sessionAffinityConfig:SessionAffinityConfig ipFamilies:[]string ipFamilyPolicy:string
            allocateLoadBalancerNodePorts:boolean loadBalancerClass:string internalTrafficPolicy:string
            trafficDistribution:string
            """,
        ["ServicePort"] = "name:string protocol:string appProtocol:string port:int32 targetPort:int-or-string nodePort:int32",
        ["SessionAffinityConfig"] = "clientIP:ClientIPConfig",
        ["ClientIPConfig"] = "timeoutSeconds:int32",
        ["ServiceStatus"] = "loadBalancer:LoadBalancerStatus conditions:[]Condition@type",
        ["LoadBalancerStatus"] = "ingress:[]LoadBalancerIngress",
        ["LoadBalancerIngress"] = "ip:string hostname:string ipMode:string ports:[]PortStatus",
        ["PortStatus"] = "port:int32 protocol:string error:string",

        ["Endpoints"] = "...TypeMeta metadata:ObjectMeta subsets:[]EndpointSubset",
        ["EndpointSubset"] = "addresses:[]EndpointAddress notReadyAddresses:[]EndpointAddress ports:[]EndpointPort",
        ["EndpointAddress"] = "ip:string hostname:string nodeName:string targetRef:ObjectReference",
        ["EndpointPort"] = "name:string port:int32 protocol:string appProtocol:string",

        ["ConfigMap"] = "...TypeMeta metadata:ObjectMeta immutable:boolean data:{}string binaryData:{}bytes",
        ["Secret"] = "...TypeMeta metadata:ObjectMeta immutable:boolean data:{}bytes stringData:{}string type:string",
        ["ServiceAccount"] = """
            ...TypeMeta metadata:ObjectMeta secrets:[]ObjectReference@name imagePullSecrets:[]LocalObjectReference
            automountServiceAccountToken:boolean
            """,
        ["Event"] = """
            ...TypeMeta metadata:ObjectMeta involvedObject:ObjectReference reason:string message:string source:EventSource
            firstTimestamp:time lastTimestamp:time count:int32 type:string eventTime:time series:EventSeries action:string
            related:ObjectReference reportingComponent:string reportingInstance:string
            """,
        ["EventSource"] = "component:string host:string",
        ["EventSeries"] = "count:int32 lastObservedTime:time",
    };
}
