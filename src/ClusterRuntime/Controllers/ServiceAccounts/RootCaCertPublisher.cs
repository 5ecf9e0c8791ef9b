// Upstream's root-ca-cert-publisher: the kube-root-ca.crt ConfigMap with the cluster CA in every namespace.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.ServiceAccounts;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ServiceAccounts;

/// <summary>
/// Keeps <c>kube-root-ca.crt</c> (key <c>ca.crt</c>: the CA that signs the API server's certificate, from
/// <see cref="ControllerOptions.RootCaPem"/>) in every namespace, for the projected kube-api-access volumes; a deleted
/// or edited copy is put back, with upstream's <c>kubernetes.io/description</c> annotation. Does nothing when the
/// options carry no CA (controllers of in-process test stores).
/// </summary>
public sealed class RootCaCertPublisher(ControllerContext ctx)
    : PerNamespaceObject(ctx, "RootCaCertPublisher", Obj.Resource("", "configmaps"), ServiceAccountAdmission.RootCaConfigMap)
{
    const string DescriptionKey = "kubernetes.io/description";
    const string Description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

    readonly string _ca = ctx.Options.RootCaPem ?? "";

    /// <inheritdoc />
    public override string Name => "root-ca-cert-publisher";

    /// <inheritdoc />
    protected override bool Enabled => _ca.Length > 0;

    /// <inheritdoc />
    protected override JsonObject Make(string ns) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject
        {
            ["name"] = ServiceAccountAdmission.RootCaConfigMap,
            ["namespace"] = ns,
            ["annotations"] = new JsonObject { [DescriptionKey] = Description },
        },
        ["data"] = new JsonObject { ["ca.crt"] = _ca },
    };

    /// <inheritdoc />
    protected override JsonObject? Repair(JsonObject existing)
    {
        if (Obj.Str(existing, "data", "ca.crt") == _ca && existing["data"] is JsonObject { Count: 1 } && Obj.Str(existing, "metadata", "annotations", DescriptionKey) == Description) return null;
        existing["data"] = new JsonObject { ["ca.crt"] = _ca };
        Obj.Ensure(existing, "metadata", "annotations")[DescriptionKey] = Description;
        return existing;
    }
}
