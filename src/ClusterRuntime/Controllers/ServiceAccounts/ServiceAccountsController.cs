// Upstream's serviceaccount-controller: a `default` ServiceAccount in every namespace.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.ServiceAccounts;

/// <summary>Creates the <c>default</c> ServiceAccount when a namespace appears, and again whenever it is deleted.</summary>
public sealed class ServiceAccountsController(ControllerContext ctx)
    : PerNamespaceObject(ctx, "ServiceAccounts", Obj.Resource("", "serviceaccounts"), DefaultName)
{
    /// <summary>The ServiceAccount every namespace has.</summary>
    public const string DefaultName = "default";

    /// <inheritdoc />
    public override string Name => "serviceaccount-controller";

    /// <inheritdoc />
    protected override JsonObject Make(string ns) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ServiceAccount",
        ["metadata"] = new JsonObject { ["name"] = DefaultName, ["namespace"] = ns },
    };
}
