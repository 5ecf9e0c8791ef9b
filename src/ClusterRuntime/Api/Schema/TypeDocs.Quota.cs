// Documentation of core/v1 LimitRange and ResourceQuota.
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class TypeDocs
{
    static IReadOnlyDictionary<string, string> QuotaDocs => new Dictionary<string, string>
    {
        ["LimitRange"] = "Per-container defaults and bounds for compute resources in one namespace, applied when pods are created.",
        ["LimitRange.spec"] = "The defaults and bounds.",
        ["LimitRangeSpec"] = "The items of a limit range.",
        ["LimitRangeSpec.limits"] = "One item per kind of object constrained; only type Container is enforced here.",
        ["LimitRangeItem"] = "Defaults and bounds for one kind of object.",
        ["LimitRangeItem.type"] = "What the item constrains: Container (Pod and PersistentVolumeClaim are stored, not enforced).",
        ["LimitRangeItem.max"] = "The largest request or limit a container may have, per resource.",
        ["LimitRangeItem.min"] = "The smallest request or limit a container may have, per resource.",
        ["LimitRangeItem.default"] = "The limit a container gets when it states none, per resource.",
        ["LimitRangeItem.defaultRequest"] = "The request a container gets when it states none, per resource.",
        ["LimitRangeItem.maxLimitRequestRatio"] = "How many times its request a container's limit may be at most, per resource.",
        ["ResourceQuota"] = "Caps what a namespace may hold in total: object counts and the pods' compute requests and limits.",
        ["ResourceQuota.spec"] = "The caps.",
        ["ResourceQuota.status"] = "The caps in force and what is used of them, kept by the quota controller.",
        ["ResourceQuotaSpec"] = "What a quota caps.",
        ["ResourceQuotaSpec.hard"] = "The cap per resource name, such as pods, requests.cpu or count/deployments.apps.",
        ["ResourceQuotaStatus"] = "The state of a quota.",
        ["ResourceQuotaStatus.hard"] = "The caps the quota enforces.",
        ["ResourceQuotaStatus.used"] = "What the namespace uses now of each capped resource.",
    };
}
