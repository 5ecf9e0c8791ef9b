// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding (Kubernetes 1.32 API reference).
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class BuiltinTypes
{
    static readonly IReadOnlyDictionary<string, string> Rbac = new Dictionary<string, string>
    {
        ["Role"] = "...TypeMeta metadata:ObjectMeta rules:[]PolicyRule",
        ["ClusterRole"] = "...TypeMeta metadata:ObjectMeta rules:[]PolicyRule aggregationRule:AggregationRule",
        ["PolicyRule"] = "verbs:[]string apiGroups:[]string resources:[]string resourceNames:[]string nonResourceURLs:[]string",
        ["AggregationRule"] = "clusterRoleSelectors:[]LabelSelector",
        ["RoleBinding"] = "...TypeMeta metadata:ObjectMeta subjects:[]Subject roleRef:RoleRef",
        ["ClusterRoleBinding"] = "...TypeMeta metadata:ObjectMeta subjects:[]Subject roleRef:RoleRef",
        ["Subject"] = "kind:string apiGroup:string name:string namespace:string",
        ["RoleRef"] = "apiGroup:string kind:string name:string",
    };
}
