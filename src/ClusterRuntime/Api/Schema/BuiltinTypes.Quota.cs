// core/v1 LimitRange and ResourceQuota (Kubernetes 1.32 API reference); quota scopes are stored as given, not enforced.
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class BuiltinTypes
{
    static readonly IReadOnlyDictionary<string, string> Quota = new Dictionary<string, string>
    {
        ["LimitRange"] = "...TypeMeta metadata:ObjectMeta spec:LimitRangeSpec",
        ["LimitRangeSpec"] = "limits:[]LimitRangeItem",
        ["LimitRangeItem"] = "type:string max:{}quantity min:{}quantity default:{}quantity defaultRequest:{}quantity maxLimitRequestRatio:{}quantity",
        ["ResourceQuota"] = "...TypeMeta metadata:ObjectMeta spec:ResourceQuotaSpec status:ResourceQuotaStatus",
        ["ResourceQuotaSpec"] = "hard:{}quantity",
        ["ResourceQuotaStatus"] = "hard:{}quantity used:{}quantity",
    };
}
