// The node authorizer and NodeRestriction with the real kubectl: a node identity writes only its own Node, Lease and pods, and reads only what its pods use.
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

public sealed class NodeAuthorizerTests(ServerFixture fx) : IClassFixture<ServerFixture>, IDisposable
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Settle = TimeSpan.FromSeconds(20);
    const string Ns = "node-auth";
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    Support.Kubectl Node(string name) => UserKubeconfig.For(fx.Server, _dir.Path, "system:node:" + name, "system:nodes");

    static async Task ApplyAsync(Support.Kubectl k, string yaml, bool ok = true)
    {
        var r = await k.RunAsync(System.Text.Encoding.UTF8.GetBytes(yaml), "apply", "-f", "-");
        if (ok) r.Ok();
    }

    static string NodeYaml(string name, string labels = "{}") => $$"""
        apiVersion: v1
        kind: Node
        metadata: {name: {{name}}, labels: {{labels}}}
        """;

    [Fact]
    public async Task NodeWritesOnlyItsOwnNode_AndNoRestrictedLabels()
    {
        Support.Kubectl.RequireInstalled();
        var n1 = Node("na-1");
        (await n1.RunAsync(System.Text.Encoding.UTF8.GetBytes(NodeYaml("na-1", "{kubernetes.io/hostname: na-1}")), "create", "-f", "-")).Ok();
        var other = await n1.RunAsync(System.Text.Encoding.UTF8.GetBytes(NodeYaml("na-2")), "create", "-f", "-");
        Assert.Contains("nodes \"na-2\" is forbidden: node \"na-1\" is not allowed to modify node \"na-2\"", other.Error);
        var roleOnCreate = await Node("na-3").RunAsync(System.Text.Encoding.UTF8.GetBytes(NodeYaml("na-3", "{node-role.kubernetes.io/control-plane: \"true\"}")), "create", "-f", "-");
        Assert.Contains("node \"na-3\" is not allowed to set the following labels: node-role.kubernetes.io/control-plane", roleOnCreate.Error);

        (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(NodeYaml("na-2")), "create", "-f", "-")).Ok();
        var foreign = await n1.RunAsync("label", "node", "na-2", "rack=r1");
        Assert.Contains("nodes \"na-2\" is forbidden: node \"na-1\" is not allowed to modify node \"na-2\"", foreign.Error);
        Assert.Contains("is not allowed to modify labels: node-role.kubernetes.io/worker",
            (await n1.RunAsync("label", "node", "na-1", "node-role.kubernetes.io/worker=true")).Error);
        Assert.Contains("is not allowed to modify labels: node-restriction.kubernetes.io/pool",
            (await n1.RunAsync("label", "node", "na-1", "node-restriction.kubernetes.io/pool=a")).Error);
        (await n1.RunAsync("label", "node", "na-1", "example.com/rack=r1")).Ok();
        Assert.Contains("is not allowed to modify taints", (await n1.RunAsync("taint", "node", "na-1", "k=v:NoSchedule")).Error);
        Assert.Contains("cannot delete resource \"nodes\"", (await n1.RunAsync("delete", "node", "na-2")).Error);
        // Every node may read Nodes (routes, the kubelet's own); the admin may still do anything.
        (await n1.RunAsync("get", "node", "na-2")).Ok();
        (await fx.Kubectl.RunAsync("label", "node", "na-1", "node-role.kubernetes.io/worker=true")).Ok();

        // Leases: only its own, only in kube-node-lease.
        var lease = """
            apiVersion: coordination.k8s.io/v1
            kind: Lease
            metadata: {name: NAME, namespace: kube-node-lease}
            spec: {holderIdentity: NAME, leaseDurationSeconds: 40}
            """;
        (await n1.RunAsync(System.Text.Encoding.UTF8.GetBytes(lease.Replace("NAME", "na-1")), "create", "-f", "-")).Ok();
        Assert.Contains("can only access node lease with the same name as the requesting node",
            (await n1.RunAsync(System.Text.Encoding.UTF8.GetBytes(lease.Replace("NAME", "na-2")), "create", "-f", "-")).Error);
    }

    [Fact]
    public async Task NodeReadsOnlyTheSecretsAndConfigMapsOfItsPods_AndWritesOnlyTheirStatus()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync(Ns, Ct);
        foreach (var name in new[] { "nb-1", "nb-2" }) (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(NodeYaml(name)), "create", "-f", "-")).Ok();
        (await fx.Kubectl.RunAsync("create", "secret", "generic", "used", "-n", Ns, "--from-literal=k=v")).Ok();
        (await fx.Kubectl.RunAsync("create", "secret", "generic", "unused", "-n", Ns, "--from-literal=k=v")).Ok();
        (await fx.Kubectl.RunAsync("create", "configmap", "settings", "-n", Ns, "--from-literal=k=v")).Ok();
        await ApplyAsync(fx.Kubectl, $$$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: {{{Ns}}}}
            spec:
              nodeName: nb-1
              containers:
              - name: web
                image: busybox
                env:
                - name: PASSWORD
                  valueFrom: {secretKeyRef: {name: used, key: k}}
              volumes:
              - name: settings
                configMap: {name: settings}
            """);
        var n1 = Node("nb-1");
        var n2 = Node("nb-2");
        await Poll.UntilAsync(() => n1.RunAsync("get", "secret", "used", "-n", Ns), r => r.ExitCode == 0, Settle, "nb-1 reads the secret its pod uses", r => r.Error);
        (await n1.RunAsync("get", "configmap", "settings", "-n", Ns)).Ok();
        Assert.Contains($"secrets \"unused\" is forbidden: User \"system:node:nb-1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"{Ns}\": no relationship found between node 'nb-1' and this object",
            (await n1.RunAsync("get", "secret", "unused", "-n", Ns)).Error);
        Assert.Contains("no relationship found between node 'nb-2' and this object", (await n2.RunAsync("get", "secret", "used", "-n", Ns)).Error);
        Assert.Contains("cannot list resource \"secrets\"", (await n1.RunAsync("get", "secrets", "-n", Ns)).Error);
        Assert.Contains("cannot list resource \"secrets\"", (await n1.RunAsync("get", "secrets", "-A")).Error);

        // Pod status and deletion: only for pods bound to the node.
        // (As raw PATCHes, the kubelet's request: kubectl patch --subresource=status first GETs pods/status, which system:node does not allow.)
        async Task<(System.Net.HttpStatusCode, string)> PatchStatusAs(string node)
        {
            using var http = UserKubeconfig.Http(fx.Server, "system:node:" + node, "system:nodes");
            var body = new StringContent("""{"status":{"message":"seen"}}""");
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/merge-patch+json");
            using var response = await http.PatchAsync($"/api/v1/namespaces/{Ns}/pods/web/status", body, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            return (response.StatusCode, response.IsSuccessStatusCode ? text : System.Text.Json.Nodes.JsonNode.Parse(text)!["message"]!.GetValue<string>());
        }
        var (code, text) = await PatchStatusAs("nb-2");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, code);
        Assert.True(text.Contains("node \"nb-2\" can only update pod status for pods with spec.nodeName set to itself"), text);
        (code, text) = await PatchStatusAs("nb-1");
        Assert.True(code == System.Net.HttpStatusCode.OK, text);
        Assert.Contains("cannot patch resource \"pods\"", (await n1.RunAsync("label", "pod", "web", "-n", Ns, "x=y")).Error);
        Assert.Contains("node \"nb-2\" can only delete pods with spec.nodeName set to itself", (await n2.RunAsync("delete", "pod", "web", "-n", Ns, "--wait=false")).Error);
        (await n1.RunAsync("delete", "pod", "web", "-n", Ns, "--wait=false")).Ok();

        // Once the pod is gone, so is the node's access to its secret.
        await fx.Kubectl.RunAsync("delete", "pod", "web", "-n", Ns, "--force", "--grace-period=0");
        await Poll.UntilAsync(() => n1.RunAsync("get", "secret", "used", "-n", Ns), r => r.Error.Contains("no relationship found"), Settle, "nb-1 loses the secret with its pod", r => r.Out + r.Error);
    }

    [Fact]
    public async Task CanI_ForANode_MatchesTheNodeAuthorizer()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync("node-can-i", Ct);
        var r = await fx.Kubectl.RunAsync("auth", "can-i", "get", "secrets", "-n", "node-can-i", "--as", "system:node:nc-1", "--as-group", "system:nodes");
        // The node authorizer's reason follows, as upstream's: "no - can only read individual secrets".
        Assert.True(r.Out.Trim() == "no - can only read individual secrets", r.Out + r.Error);
        r = await fx.Kubectl.RunAsync("auth", "can-i", "create", "events", "-n", "node-can-i", "--as", "system:node:nc-1", "--as-group", "system:nodes");
        Assert.Equal("yes", r.Out.Trim());
        r = await fx.Kubectl.RunAsync("auth", "can-i", "list", "pods", "-A", "--as", "system:node:nc-1", "--as-group", "system:nodes");
        Assert.Equal("yes", r.Out.Trim());
    }
}
