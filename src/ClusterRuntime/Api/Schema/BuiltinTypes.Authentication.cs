// The authentication.k8s.io/v1 part of the type table: TokenRequest (serviceaccounts/token) and TokenReview.
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class BuiltinTypes
{
    static readonly IReadOnlyDictionary<string, string> Authentication = new Dictionary<string, string>
    {
        ["TokenRequest"] = "...TypeMeta metadata:ObjectMeta spec:TokenRequestSpec status:TokenRequestStatus",
        ["TokenRequestSpec"] = "audiences:[]string expirationSeconds:int64 boundObjectRef:BoundObjectReference",
        ["BoundObjectReference"] = "kind:string apiVersion:string name:string uid:string",
        ["TokenRequestStatus"] = "token:string expirationTimestamp:time",
        ["TokenReview"] = "...TypeMeta metadata:ObjectMeta spec:TokenReviewSpec status:TokenReviewStatus",
        ["TokenReviewSpec"] = "token:string audiences:[]string",
        ["TokenReviewStatus"] = "authenticated:boolean user:UserInfo audiences:[]string error:string",
        ["UserInfo"] = "username:string uid:string groups:[]string extra:object",
    };
}
