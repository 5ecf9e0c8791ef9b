// RBAC enforced, with the real kubectl and users made from client certificates: 403 wording, bindings, aggregation, can-i, impersonation, escalation.
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

public sealed class RbacTests(ServerFixture fx) : IClassFixture<ServerFixture>, IDisposable
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Settle = TimeSpan.FromSeconds(20);
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    Support.Kubectl As(string user, params string[] groups) => UserKubeconfig.For(fx.Server, _dir.Path, user, groups);

    async Task ApplyAsync(string yaml) => (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(yaml), "apply", "-f", "-")).Ok();

    /// <summary>Polls until kubectl's result satisfies <paramref name="done"/> (a binding takes effect within the cache's watch delay).</summary>
    static Task<ProcessResult> UntilAsync(Support.Kubectl k, Func<ProcessResult, bool> done, string what, params string[] args) =>
        Poll.UntilAsync(() => k.RunAsync(args), done, Settle, what, r => r.Out + r.Error);

    [Fact]
    public async Task WithoutBindings_EveryRequestIs403_WordedAsUpstream()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync("rbac-none", Ct);
        var alice = As("alice");
        var list = await alice.RunAsync("get", "pods", "-n", "rbac-none");
        Assert.NotEqual(0, list.ExitCode);
        Assert.Contains("Error from server (Forbidden): pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"rbac-none\"", list.Error);
        var get = await alice.RunAsync("get", "deployment", "web", "-n", "rbac-none");
        Assert.Contains("deployments.apps \"web\" is forbidden: User \"alice\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"rbac-none\"", get.Error);
        var nodes = await alice.RunAsync("get", "nodes");
        Assert.Contains("nodes is forbidden: User \"alice\" cannot list resource \"nodes\" in API group \"\" at the cluster scope", nodes.Error);
        // Discovery and the public info are every authenticated user's (system:discovery, system:public-info-viewer).
        (await alice.RunAsync("get", "--raw", "/version")).Ok();
        (await alice.RunAsync("api-resources", "--api-group=apps")).Ok();
        var raw = await alice.RunAsync("get", "--raw", "/metrics");
        Assert.Contains("forbidden: User \"alice\" cannot get path \"/metrics\"", raw.Error);
    }

    [Fact]
    public async Task RoleBinding_GrantsItsRoleInItsNamespaceOnly_AndCanIAgrees()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync("rbac-b", Ct);
        await fx.NamespaceClientAsync("rbac-b2", Ct);
        await ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: pod-reader, namespace: rbac-b}
            rules:
            - {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: bob-reads-pods, namespace: rbac-b}
            subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]
            roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
            """);
        var bob = As("bob", "dev");
        await UntilAsync(bob, r => r.ExitCode == 0, "bob lists pods in rbac-b", "get", "pods", "-n", "rbac-b");
        var other = await bob.RunAsync("get", "pods", "-n", "rbac-b2");
        Assert.Contains("pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"rbac-b2\"", other.Error);
        var create = await bob.RunAsync("create", "configmap", "x", "-n", "rbac-b");
        Assert.Contains("configmaps is forbidden: User \"bob\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"rbac-b\"", create.Error);

        // can-i, by bob himself and by the admin impersonating him, answers as the requests above went.
        Assert.Equal("yes", (await bob.RunAsync("auth", "can-i", "list", "pods", "-n", "rbac-b")).Out.Trim());
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["list", "pods", "-n", "rbac-b"], "yes"),
            (["list", "pods", "-n", "rbac-b2"], "no"),
            (["create", "configmaps", "-n", "rbac-b"], "no"),
            (["get", "pods", "--subresource=log", "-n", "rbac-b"], "no"),
            (["get", "pods/web", "-n", "rbac-b"], "yes"),
        })
        {
            var r = await fx.Kubectl.RunAsync(["auth", "can-i", .. args, "--as", "bob"]);
            Assert.True(expected == r.Out.Trim(), $"can-i {string.Join(' ', args)} --as bob: {r.Out}{r.Error}");
            Assert.Equal(expected == "yes" ? 0 : 1, r.ExitCode);
        }
        // Impersonating, the admin sees what bob sees.
        (await fx.Kubectl.RunAsync("get", "pods", "-n", "rbac-b", "--as", "bob")).Ok();
        Assert.Contains("User \"bob\" cannot list resource \"pods\"", (await fx.Kubectl.RunAsync("get", "pods", "-n", "rbac-b2", "--as", "bob")).Error);
        // bob may not impersonate anyone.
        var asAdmin = await bob.RunAsync("get", "pods", "-n", "rbac-b", "--as", "system:admin");
        Assert.Contains("users \"system:admin\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope", asAdmin.Error);

        var rules = (await bob.RunAsync("auth", "can-i", "--list", "-n", "rbac-b")).Ok().Out;
        Assert.Matches(@"(?m)^pods\s+\[\]\s+\[\]\s+\[get list watch\]", rules);
        Assert.Matches(@"(?m)^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]", rules);
        Assert.DoesNotMatch(@"(?m)^pods\s", (await bob.RunAsync("auth", "can-i", "--list", "-n", "rbac-b2")).Ok().Out);
    }

    [Fact]
    public async Task AggregatedClusterRoles_PickUpLabelledRoles_AndTheirGrantsWork()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync("rbac-agg", Ct);
        // view does not read secrets; a role labelled aggregate-to-view adds that to view, and so to edit and admin.
        await ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata:
              name: secret-viewer-extension
              labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
            rules:
            - {apiGroups: [""], resources: [secrets], verbs: [get]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: dave-views, namespace: rbac-agg}
            subjects: [{kind: Group, name: viewers, apiGroup: rbac.authorization.k8s.io}]
            roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}
            """);
        (await fx.Kubectl.RunAsync("create", "secret", "generic", "s1", "-n", "rbac-agg", "--from-literal=k=v")).Ok();
        foreach (var role in new[] { "view", "edit", "admin" })
            await UntilAsync(fx.Kubectl, r => r.Out.Contains("secrets"), $"{role} aggregates the secret rule", "get", "clusterrole", role, "-o", "jsonpath={.rules[*].resources}");
        var dave = As("dave", "viewers");
        await UntilAsync(dave, r => r.ExitCode == 0, "dave gets the secret through view", "get", "secret", "s1", "-n", "rbac-agg");
        (await dave.RunAsync("get", "deployments", "-n", "rbac-agg")).Ok();
        Assert.Contains("cannot delete resource \"secrets\"", (await dave.RunAsync("delete", "secret", "s1", "-n", "rbac-agg")).Error);

        // Removing the label takes the rule out again.
        (await fx.Kubectl.RunAsync("label", "clusterrole", "secret-viewer-extension", "rbac.authorization.k8s.io/aggregate-to-view-")).Ok();
        await UntilAsync(dave, r => r.Error.Contains("cannot get resource \"secrets\""), "view loses the secret rule", "get", "secret", "s1", "-n", "rbac-agg");
    }

    [Fact]
    public async Task Escalation_IsRefused_UnlessTheWriterHoldsThePermissions()
    {
        Support.Kubectl.RequireInstalled();
        await fx.NamespaceClientAsync("rbac-esc", Ct);
        await ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: role-writer, namespace: rbac-esc}
            rules:
            - {apiGroups: [rbac.authorization.k8s.io], resources: [roles, rolebindings], verbs: [create, get, list]}
            - {apiGroups: [""], resources: [configmaps], verbs: [get]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: carol-writes-roles, namespace: rbac-esc}
            subjects: [{kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}]
            roleRef: {kind: Role, name: role-writer, apiGroup: rbac.authorization.k8s.io}
            """);
        var carol = As("carol");
        await UntilAsync(carol, r => r.ExitCode == 0, "carol reads roles", "get", "roles", "-n", "rbac-esc");
        var escalate = await carol.RunAsync("create", "role", "secrets-reader", "-n", "rbac-esc", "--verb=get", "--resource=secrets");
        Assert.NotEqual(0, escalate.ExitCode);
        Assert.Contains("roles.rbac.authorization.k8s.io \"secrets-reader\" is forbidden: user \"carol\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:", escalate.Error);
        Assert.Contains("{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}", escalate.Error);
        // What she holds she may hand on.
        (await carol.RunAsync("create", "role", "cm-reader", "-n", "rbac-esc", "--verb=get", "--resource=configmaps")).Ok();
        (await carol.RunAsync("create", "rolebinding", "erin-cm", "-n", "rbac-esc", "--role=cm-reader", "--user=erin")).Ok();
        var bindAdmin = await carol.RunAsync("create", "rolebinding", "carol-admin", "-n", "rbac-esc", "--clusterrole=admin", "--user=carol");
        Assert.Contains("rolebindings.rbac.authorization.k8s.io \"carol-admin\" is forbidden: user \"carol\"", bindAdmin.Error);
        // With the bind verb on that role, the binding is allowed.
        await ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: may-bind-admin, namespace: rbac-esc}
            rules:
            - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [admin]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: carol-binds-admin, namespace: rbac-esc}
            subjects: [{kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}]
            roleRef: {kind: Role, name: may-bind-admin, apiGroup: rbac.authorization.k8s.io}
            """);
        await UntilAsync(carol, r => r.ExitCode == 0, "carol binds admin with the bind verb",
            "create", "rolebinding", "carol-admin", "-n", "rbac-esc", "--clusterrole=admin", "--user=carol");
    }

    [Fact]
    public async Task DefaultPolicy_IsBootstrapped_WithUpstreamMarkers()
    {
        Support.Kubectl.RequireInstalled();
        foreach (var role in new[] { "cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:public-info-viewer", "system:node" })
        {
            var labels = (await fx.Kubectl.RunAsync("get", "clusterrole", role, "-o", "jsonpath={.metadata.labels.kubernetes\\.io/bootstrapping} {.metadata.annotations.rbac\\.authorization\\.kubernetes\\.io/autoupdate}")).Ok().Out;
            Assert.Equal("rbac-defaults true", labels.Trim());
        }
        var admin = (await fx.Kubectl.RunAsync("get", "clusterrolebinding", "cluster-admin", "-o", "jsonpath={.subjects[0].kind}/{.subjects[0].name}")).Ok().Out;
        Assert.Equal("Group/system:masters", admin);
    }
}
