// Built-in types the server stores without a controller: Ingress, IngressClass, HorizontalPodAutoscaler v2, PodDisruptionBudget, PriorityClass.
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class BuiltinTypes
{
    static readonly IReadOnlyDictionary<string, string> NetworkingIngress = new Dictionary<string, string>
    {
        ["Ingress"] = "...TypeMeta metadata:ObjectMeta spec:IngressSpec status:IngressStatus",
        ["IngressSpec"] = "ingressClassName:string defaultBackend:IngressBackend tls:[]IngressTLS rules:[]IngressRule",
        ["IngressBackend"] = "service:IngressServiceBackend resource:TypedLocalObjectReference",
        ["IngressServiceBackend"] = "name:string port:ServiceBackendPort",
        ["ServiceBackendPort"] = "name:string number:int32",
        ["IngressTLS"] = "hosts:[]string secretName:string",
        ["IngressRule"] = "host:string http:HTTPIngressRuleValue",
        ["HTTPIngressRuleValue"] = "paths:[]HTTPIngressPath",
        ["HTTPIngressPath"] = "path:string pathType:string backend:IngressBackend",
        ["IngressStatus"] = "loadBalancer:IngressLoadBalancerStatus",
        ["IngressLoadBalancerStatus"] = "ingress:[]IngressLoadBalancerIngress",
        ["IngressLoadBalancerIngress"] = "ip:string hostname:string ports:[]IngressPortStatus",
        ["IngressPortStatus"] = "port:int32 protocol:string error:string",
        ["IngressClass"] = "...TypeMeta metadata:ObjectMeta spec:IngressClassSpec",
        ["IngressClassSpec"] = "controller:string parameters:IngressClassParametersReference",
        ["IngressClassParametersReference"] = "apiGroup:string kind:string name:string scope:string namespace:string",
    };

    static readonly IReadOnlyDictionary<string, string> AutoscalingV2 = new Dictionary<string, string>
    {
        ["HorizontalPodAutoscaler"] = "...TypeMeta metadata:ObjectMeta spec:HorizontalPodAutoscalerSpec status:HorizontalPodAutoscalerStatus",
        ["HorizontalPodAutoscalerSpec"] = """
            scaleTargetRef:CrossVersionObjectReference minReplicas:int32 maxReplicas:int32 metrics:[]MetricSpec
            behavior:HorizontalPodAutoscalerBehavior
            """,
        ["CrossVersionObjectReference"] = "kind:string name:string apiVersion:string",
        ["MetricSpec"] = """
            type:string object:ObjectMetricSource pods:PodsMetricSource resource:ResourceMetricSource
            containerResource:ContainerResourceMetricSource external:ExternalMetricSource
            """,
        ["ObjectMetricSource"] = "describedObject:CrossVersionObjectReference target:MetricTarget metric:MetricIdentifier",
        ["PodsMetricSource"] = "metric:MetricIdentifier target:MetricTarget",
        ["ResourceMetricSource"] = "name:string target:MetricTarget",
        ["ContainerResourceMetricSource"] = "name:string target:MetricTarget container:string",
        ["ExternalMetricSource"] = "metric:MetricIdentifier target:MetricTarget",
        ["MetricIdentifier"] = "name:string selector:LabelSelector",
        ["MetricTarget"] = "type:string value:quantity averageValue:quantity averageUtilization:int32",
        ["HorizontalPodAutoscalerBehavior"] = "scaleUp:HPAScalingRules scaleDown:HPAScalingRules",
        ["HPAScalingRules"] = "stabilizationWindowSeconds:int32 selectPolicy:string policies:[]HPAScalingPolicy",
        ["HPAScalingPolicy"] = "type:string value:int32 periodSeconds:int32",
        ["HorizontalPodAutoscalerStatus"] = """
            observedGeneration:int64 lastScaleTime:time currentReplicas:int32 desiredReplicas:int32
            currentMetrics:[]object conditions:[]HorizontalPodAutoscalerCondition@type
            """,
        ["HorizontalPodAutoscalerCondition"] = "type:string status:string lastTransitionTime:time reason:string message:string",
    };

    static readonly IReadOnlyDictionary<string, string> Policy = new Dictionary<string, string>
    {
        ["PodDisruptionBudget"] = "...TypeMeta metadata:ObjectMeta spec:PodDisruptionBudgetSpec status:PodDisruptionBudgetStatus",
        ["PodDisruptionBudgetSpec"] = "minAvailable:int-or-string selector:LabelSelector maxUnavailable:int-or-string unhealthyPodEvictionPolicy:string",
        ["PodDisruptionBudgetStatus"] = """
            observedGeneration:int64 disruptedPods:{}time disruptionsAllowed:int32 currentHealthy:int32 desiredHealthy:int32
            expectedPods:int32 conditions:[]Condition@type
            """,
    };

    static readonly IReadOnlyDictionary<string, string> Scheduling = new Dictionary<string, string>
    {
        ["PriorityClass"] = "...TypeMeta metadata:ObjectMeta value:int32 globalDefault:boolean description:string preemptionPolicy:string",
    };
}
