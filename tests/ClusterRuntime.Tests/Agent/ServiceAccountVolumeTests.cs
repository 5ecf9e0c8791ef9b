// The kube-api-access volume the admission adds, materialised by the kubelet with a real containerd: token, ca.crt, namespace.
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class ServiceAccountVolumeTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;

    [Fact]
    public async Task Container_ReadsItsBoundToken_TheCaAndItsNamespace_AndTheTokenAuthenticates()
    {
        await Host.StartAsync();
        const string dir = "/var/run/secrets/kubernetes.io/serviceaccount";
        var spec = new JsonObject
        {
            ["terminationGracePeriodSeconds"] = 1,
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "main",
                ["image"] = ContainerdHost.Busybox,
                ["command"] = new JsonArray("sh", "-c",
                    $"echo \"TOKEN=`cat {dir}/token`\"; echo \"NS=`cat {dir}/namespace`\"; echo \"CA=`sed -n 2p {dir}/ca.crt`\"; " +
                    $"touch {dir}/x 2>/dev/null && echo WRITABLE || echo READONLY; echo done; sleep 3600"),
            }),
        };
        var created = await Host.CreatePodAsync("sa-reader", spec);
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var path = Path.Combine(Host.Containerd["pods"], $"default_sa-reader_{uid}", "main", "0.log");
        var log = await Poll.UntilAsync(() => Task.FromResult(File.Exists(path) ? File.ReadAllText(path) : ""), l => l.Contains("stdout F done"), TimeSpan.FromSeconds(90),
            "the container's output", l => l + "\nserver log tail: " + Host.ServerLog[^Math.Min(2000, Host.ServerLog.Length)..]);

        var lines = log.Split('\n').Select(l => l.Split("stdout F ", 2) is [_, var text] ? text : "").ToList();
        var token = lines.Single(l => l.StartsWith("TOKEN=", StringComparison.Ordinal))["TOKEN=".Length..];
        Assert.Contains("NS=default", lines);
        var caPem = File.ReadAllText(Path.Combine(Path.GetDirectoryName(Host.KubeconfigPath)!, "tls", "server-ca.crt"));
        Assert.Contains("CA=" + caPem.Split('\n')[1], lines);
        Assert.Contains("READONLY", lines);

        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        var claims = JsonNode.Parse(Convert.FromBase64String(payload + new string('=', (4 - payload.Length % 4) % 4)))!;
        Assert.Equal("system:serviceaccount:default:default", claims["sub"]!.GetValue<string>());
        Assert.Equal("sa-reader", claims["kubernetes.io"]!["pod"]!["name"]!.GetValue<string>());
        Assert.Equal(uid, claims["kubernetes.io"]!["pod"]!["uid"]!.GetValue<string>());
        Assert.Equal(3607, claims["exp"]!.GetValue<long>() - claims["iat"]!.GetValue<long>());

        // The token from the file authenticates (no client certificate), until its pod is gone: discovery is open to every
        // authenticated user (system:discovery), so 200 there means authenticated; the pod's default ServiceAccount has no
        // other grants.
        using var http = Host.CreateServerClient(admin: false);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api", TestContext.Current.CancellationToken)).StatusCode);

        (await Host.Kubectl.RunAsync("delete", "pod", "sa-reader", "--wait=false")).Ok();
        await Poll.UntilAsync(async () => await Host.PodAsync("default", "sa-reader"), p => p is null, TimeSpan.FromSeconds(60), "the pod gone");
        await Poll.UntilAsync(async () => (await http.GetAsync("/api", TestContext.Current.CancellationToken)).StatusCode,
            c => c == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(90), "the bound token refused once its pod is gone (after upstream's 60 s grace)");
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Refresh_IsDueAt80PercentOfTheLifetime_OrAfterADay()
    {
        var issued = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var expires = issued.AddSeconds(3607);
        Assert.False(ApiServiceAccountTokens.DueForRefresh(issued, expires, issued.AddSeconds(2885)));
        Assert.True(ApiServiceAccountTokens.DueForRefresh(issued, expires, issued.AddSeconds(2886)));
        Assert.False(ApiServiceAccountTokens.DueForRefresh(issued, issued.AddDays(365), issued.AddHours(23)));
        Assert.True(ApiServiceAccountTokens.DueForRefresh(issued, issued.AddDays(365), issued.AddHours(24)));
    }
}
