// Service accounts through the real server: default ServiceAccount and kube-root-ca.crt per namespace, TokenRequest
// via kubectl, token authentication with KubernetesClient (in-cluster shape), expiry, deletion, pod admission.
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Autorest;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class ServiceAccountTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    async Task<string> NamespaceAsync(string prefix)
    {
        var ns = prefix + "-" + Guid.NewGuid().ToString("N")[..6];
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        return ns;
    }

    async Task<JsonObject?> GetAsync(string path)
    {
        using var http = fx.Server.CreateClient();
        var r = await http.GetAsync(path, Ct);
        return r.StatusCode == HttpStatusCode.NotFound ? null : await Json.ReadAsync(r.EnsureSuccessStatusCode());
    }

    Task<JsonObject?> WaitForAsync(string path, Func<JsonObject, bool> done, string what) =>
        Poll.UntilAsync(() => GetAsync(path), o => o is not null && done(o), Wait, what);

    static JsonObject Part(string jwt, int i) => JsonNode.Parse(Convert.FromBase64String(Pad(jwt.Split('.')[i].Replace('-', '+').Replace('_', '/'))))!.AsObject();

    static string Pad(string s) => s + new string('=', (4 - s.Length % 4) % 4);

    static byte[] B64Url(string s) => Convert.FromBase64String(Pad(s.Replace('-', '+').Replace('_', '/')));

    string CaPem => File.ReadAllText(Path.Combine(fx.Server.DataDir, "tls", "server-ca.crt"));

    /// <summary>A client built as <c>KubernetesClientConfiguration.InClusterConfig()</c> builds one: host, bearer token, CA.</summary>
    Kubernetes InClusterShape(string token) => new(new KubernetesClientConfiguration
    {
        Host = $"https://127.0.0.1:{fx.Server.Port}",
        AccessToken = token,
        SslCaCerts = [X509Certificate2.CreateFromPem(CaPem)],
    });

    static async Task<HttpStatusCode> ListPodsStatusAsync(Kubernetes client, string ns)
    {
        try
        {
            await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct);
            return HttpStatusCode.OK;
        }
        catch (HttpOperationException e)
        {
            return e.Response.StatusCode;
        }
    }

    async Task<string> TokenRequestAsync(string ns, string sa, JsonObject? spec = null)
    {
        using var http = fx.Server.CreateClient();
        var r = await http.PostAsync($"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
            Json.Body(new JsonObject { ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenRequest", ["spec"] = spec ?? new JsonObject() }), Ct);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return (await Json.ReadAsync(r))["status"]!["token"]!.GetValue<string>();
    }

    [Fact]
    public async Task NewNamespace_GetsTheDefaultServiceAccountAndKubeRootCa_BothPutBackWhenRemovedOrEdited()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("sa-default");
        var sa = await WaitForAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default", _ => true, "the default ServiceAccount");
        var cm = await WaitForAsync($"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt", _ => true, "kube-root-ca.crt");
        Assert.Equal(CaPem, cm!["data"]!["ca.crt"]!.GetValue<string>());

        (await fx.Kubectl.RunAsync("delete", "serviceaccount", "default", "-n", ns)).Ok();
        var again = await WaitForAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default",
            o => o["metadata"]!["uid"]!.GetValue<string>() != sa!["metadata"]!["uid"]!.GetValue<string>(), "the default ServiceAccount made again");
        Assert.NotNull(again);

        (await fx.Kubectl.RunAsync("patch", "configmap", "kube-root-ca.crt", "-n", ns, "--type", "merge", "-p", "{\"data\":{\"ca.crt\":\"tampered\"}}")).Ok();
        await WaitForAsync($"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt", o => o["data"]?["ca.crt"]?.GetValue<string>() == CaPem, "kube-root-ca.crt put back");
    }

    [Fact]
    public async Task KubectlCreateToken_GivesAJwtWithUpstreamClaims_SignedByTheKeyInJwks()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("sa-token");
        var sa = await WaitForAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default", _ => true, "the default ServiceAccount");
        var token = (await fx.Kubectl.RunAsync("create", "token", "default", "-n", ns, "--duration", "10m")).Ok().Out.Trim();

        var header = Part(token, 0);
        var claims = Part(token, 1);
        Assert.Equal("RS256", header["alg"]!.GetValue<string>());
        Assert.Equal("https://kubernetes.default.svc.cluster.local", claims["iss"]!.GetValue<string>());
        Assert.Equal($"system:serviceaccount:{ns}:default", claims["sub"]!.GetValue<string>());
        Assert.Equal(["https://kubernetes.default.svc.cluster.local", "k3s"], claims["aud"]!.AsArray().Select(a => a!.GetValue<string>()));
        long iat = claims["iat"]!.GetValue<long>(), exp = claims["exp"]!.GetValue<long>();
        Assert.Equal(600, exp - iat);
        Assert.Equal(iat, claims["nbf"]!.GetValue<long>());
        Assert.InRange(iat, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        var k8s = claims["kubernetes.io"]!;
        Assert.Equal(ns, k8s["namespace"]!.GetValue<string>());
        Assert.Equal("default", k8s["serviceaccount"]!["name"]!.GetValue<string>());
        Assert.Equal(sa!["metadata"]!["uid"]!.GetValue<string>(), k8s["serviceaccount"]!["uid"]!.GetValue<string>());
        Assert.Null(k8s["pod"]);

        // The signature verifies with the published key (an independent RSA check, not the server's code).
        var jwks = await GetAsync("/openid/v1/jwks");
        var key = jwks!["keys"]!.AsArray().Single()!;
        Assert.Equal(header["kid"]!.GetValue<string>(), key["kid"]!.GetValue<string>());
        using var rsa = RSA.Create(new RSAParameters { Modulus = B64Url(key["n"]!.GetValue<string>()), Exponent = B64Url(key["e"]!.GetValue<string>()) });
        var dot = token.LastIndexOf('.');
        Assert.True(rsa.VerifyData(Encoding.ASCII.GetBytes(token[..dot]), B64Url(token[(dot + 1)..]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        var discovery = await GetAsync("/.well-known/openid-configuration");
        Assert.Equal("https://kubernetes.default.svc.cluster.local", discovery!["issuer"]!.GetValue<string>());
        Assert.EndsWith("/openid/v1/jwks", discovery["jwks_uri"]!.GetValue<string>());

        var tooShort = await fx.Kubectl.RunAsync("create", "token", "default", "-n", ns, "--duration", "5m");
        Assert.NotEqual(0, tooShort.ExitCode);
        Assert.Contains($"TokenRequest.authentication.k8s.io \"default\" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes", tooShort.Error);
        var missing = await fx.Kubectl.RunAsync("create", "token", "nobody", "-n", ns);
        Assert.Contains("serviceaccounts \"nobody\" not found", missing.Error);
    }

    /// <summary>
    /// The in-cluster path without a pod: a TokenRequest token and the CA, as KubernetesClient's in-cluster config uses
    /// them. Without bindings the ServiceAccount may list nothing (403); with a Role allowing get and list of pods bound
    /// to it, exactly that works, in that namespace only. A forged token, and the token of a deleted ServiceAccount
    /// (even once one of the same name exists again), are 401.
    /// </summary>
    [Fact]
    public async Task TokenAndCa_InClusterShape_DoExactlyWhatTheRoleAllows_UntilTheServiceAccountIsDeleted()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("sa-client");
        (await fx.Kubectl.RunAsync("create", "serviceaccount", "reader", "-n", ns)).Ok();
        var token = await TokenRequestAsync(ns, "reader");
        using var client = InClusterShape(token);
        Assert.Equal(HttpStatusCode.Forbidden, await ListPodsStatusAsync(client, ns));

        (await fx.Kubectl.RunAsync("create", "role", "pod-reader", "-n", ns, "--verb=get,list", "--resource=pods")).Ok();
        (await fx.Kubectl.RunAsync("create", "rolebinding", "reader", "-n", ns, "--role=pod-reader", $"--serviceaccount={ns}:reader")).Ok();
        await Poll.UntilAsync(() => ListPodsStatusAsync(client, ns), s => s == HttpStatusCode.OK, Wait, "the RoleBinding to take effect");
        Assert.Equal(HttpStatusCode.Forbidden, await ListPodsStatusAsync(client, "default"));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOfAsync(() => client.CoreV1.ListNamespacedConfigMapAsync(ns, cancellationToken: Ct)));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOfAsync(() => client.CoreV1.DeleteCollectionNamespacedPodAsync(ns, cancellationToken: Ct)));
        Assert.Equal("yes", (await fx.Kubectl.RunAsync("auth", "can-i", "list", "pods", "-n", ns, "--as", $"system:serviceaccount:{ns}:reader")).Out.Trim());
        Assert.Equal("no", (await fx.Kubectl.RunAsync("auth", "can-i", "list", "configmaps", "-n", ns, "--as", $"system:serviceaccount:{ns}:reader")).Out.Trim());

        using var forged = InClusterShape(token[..^4] + (token[^4..] == "AAAA" ? "BBBB" : "AAAA"));
        Assert.Equal(HttpStatusCode.Unauthorized, await ListPodsStatusAsync(forged, ns));

        // Deleted, then made again with the same name: a new UID, so the old token stays dead.
        (await fx.Kubectl.RunAsync("delete", "serviceaccount", "reader", "-n", ns)).Ok();
        Assert.Equal(HttpStatusCode.Unauthorized, await ListPodsStatusAsync(client, ns));
        (await fx.Kubectl.RunAsync("create", "serviceaccount", "reader", "-n", ns)).Ok();
        Assert.Equal(HttpStatusCode.Unauthorized, await ListPodsStatusAsync(client, ns));
        using var fresh = InClusterShape(await TokenRequestAsync(ns, "reader"));
        Assert.Equal(HttpStatusCode.OK, await ListPodsStatusAsync(fresh, ns));
    }

    static async Task<HttpStatusCode> StatusOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return HttpStatusCode.OK;
        }
        catch (HttpOperationException e)
        {
            return e.Response.StatusCode;
        }
    }

    [Fact]
    public async Task TokenBoundToAPod_NamesThePod_AndDiesWithIt()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("sa-bound");
        await WaitForAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default", _ => true, "the default ServiceAccount");
        (await fx.Kubectl.RunAsync("run", "holder", "-n", ns, "--image", "busybox")).Ok();
        var pod = await GetAsync($"/api/v1/namespaces/{ns}/pods/holder");
        var token = (await fx.Kubectl.RunAsync("create", "token", "default", "-n", ns, "--bound-object-kind", "Pod", "--bound-object-name", "holder")).Ok().Out.Trim();
        var claims = Part(token, 1);
        Assert.Equal(3600, claims["exp"]!.GetValue<long>() - claims["iat"]!.GetValue<long>());
        Assert.Equal("holder", claims["kubernetes.io"]!["pod"]!["name"]!.GetValue<string>());
        Assert.Equal(pod!["metadata"]!["uid"]!.GetValue<string>(), claims["kubernetes.io"]!["pod"]!["uid"]!.GetValue<string>());

        using var client = InClusterShape(token);
        (await fx.Kubectl.RunAsync("create", "rolebinding", "view", "-n", ns, "--clusterrole=view", $"--serviceaccount={ns}:default")).Ok();
        await Poll.UntilAsync(() => ListPodsStatusAsync(client, ns), s => s == HttpStatusCode.OK, Wait, "the RoleBinding to take effect");
        // No node runs it, so the delete removes it at once.
        (await fx.Kubectl.RunAsync("delete", "pod", "holder", "-n", ns, "--wait=false")).Ok();
        await Poll.UntilAsync(() => GetAsync($"/api/v1/namespaces/{ns}/pods/holder"), p => p is null, Wait, "the pod gone");
        Assert.Equal(HttpStatusCode.Unauthorized, await ListPodsStatusAsync(client, ns));

        var other = await fx.Kubectl.RunAsync("create", "token", "default", "-n", ns, "--bound-object-kind", "Pod", "--bound-object-name", "holder");
        Assert.Contains("pods \"holder\" not found", other.Error);
    }

    [Fact]
    public async Task PodAdmission_AddsTheKubeApiAccessVolume_UnlessOptedOut_AndRefusesAMissingServiceAccount()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("sa-admit");
        await WaitForAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default", _ => true, "the default ServiceAccount");
        var manifest = $$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"two","namespace":"{{{ns}}}"},
             "spec":{"initContainers":[{"name":"init","image":"busybox"}],"containers":[{"name":"a","image":"busybox"},{"name":"b","image":"busybox"}]}}
            """;
        (await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(manifest), "create", "-f", "-")).Ok();
        var pod = (await GetAsync($"/api/v1/namespaces/{ns}/pods/two"))!;
        Assert.Equal("default", pod["spec"]!["serviceAccountName"]!.GetValue<string>());
        Assert.Equal("default", pod["spec"]!["serviceAccount"]!.GetValue<string>());
        var volume = pod["spec"]!["volumes"]!.AsArray().Single()!.AsObject();
        var name = volume["name"]!.GetValue<string>();
        Assert.Matches("^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$", name);
        var expected = JsonNode.Parse("""
            {"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
             {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},
             {"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}
            """)!;
        Assert.True(JsonNode.DeepEquals(expected, volume["projected"]), volume.ToJsonString());
        foreach (var list in new[] { "initContainers", "containers" })
            foreach (var c in pod["spec"]![list]!.AsArray())
            {
                var mount = c!["volumeMounts"]!.AsArray().Single()!;
                Assert.Equal(name, mount["name"]!.GetValue<string>());
                Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount", mount["mountPath"]!.GetValue<string>());
                Assert.True(mount["readOnly"]!.GetValue<bool>());
            }

        (await fx.Kubectl.RunAsync("run", "optout", "-n", ns, "--image", "busybox", "--overrides", "{\"spec\":{\"automountServiceAccountToken\":false}}")).Ok();
        Assert.Null((await GetAsync($"/api/v1/namespaces/{ns}/pods/optout"))!["spec"]!["volumes"]);
        var quiet = "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"quiet\",\"namespace\":\"" + ns + "\"},\"automountServiceAccountToken\":false}";
        (await fx.Kubectl.RunAsync(Encoding.UTF8.GetBytes(quiet), "create", "-f", "-")).Ok();
        (await fx.Kubectl.RunAsync("run", "byaccount", "-n", ns, "--image", "busybox", "--overrides", "{\"spec\":{\"serviceAccountName\":\"quiet\"}}")).Ok();
        Assert.Null((await GetAsync($"/api/v1/namespaces/{ns}/pods/byaccount"))!["spec"]!["volumes"]);

        var refused = await fx.Kubectl.RunAsync("run", "ghost", "-n", ns, "--image", "busybox", "--overrides", "{\"spec\":{\"serviceAccountName\":\"ghost\"}}");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"Error from server (Forbidden): pods \"ghost\" is forbidden: error looking up service account {ns}/ghost: serviceaccount \"ghost\" not found", refused.Error);
    }

    [Fact]
    public async Task KubectlAuthWhoami_WithAToken_NamesTheServiceAccount_AndTokenReviewJudgesTokens()
    {
        Support.Kubectl.RequireInstalled();
        var ns = await NamespaceAsync("sa-whoami");
        (await fx.Kubectl.RunAsync("create", "serviceaccount", "who", "-n", ns)).Ok();
        var uid = (await GetAsync($"/api/v1/namespaces/{ns}/serviceaccounts/who"))!["metadata"]!["uid"]!.GetValue<string>();
        var token = await TokenRequestAsync(ns, "who");
        using var dir = new TempDir("sa-whoami-");
        var kubeconfig = Path.Combine(dir.Path, "config");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: https://127.0.0.1:{fx.Server.Port}
                certificate-authority: {Path.Combine(fx.Server.DataDir, "tls", "server-ca.crt")}
            users:
            - name: u
              user:
                token: {token}
            contexts:
            - name: x
              context:
                cluster: c
                user: u
            current-context: x
            """);
        var whoami = (await new Support.Kubectl(kubeconfig, dir.Path).RunAsync("auth", "whoami", "-o", "json")).Ok();
        var info = JsonNode.Parse(whoami.Out)!["status"]!["userInfo"]!;
        Assert.Equal($"system:serviceaccount:{ns}:who", info["username"]!.GetValue<string>());
        Assert.Equal(uid, info["uid"]!.GetValue<string>());
        Assert.Equal(["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"], info["groups"]!.AsArray().Select(g => g!.GetValue<string>()));

        using var http = fx.Server.CreateClient();
        async Task<JsonObject> ReviewAsync(string t, params string[] audiences)
        {
            var spec = new JsonObject { ["token"] = t };
            if (audiences.Length > 0) spec["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode)JsonValue.Create(a))]);
            var r = await http.PostAsync("/apis/authentication.k8s.io/v1/tokenreviews",
                Json.Body(new JsonObject { ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenReview", ["spec"] = spec }), Ct);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            return (await Json.ReadAsync(r))["status"]!.AsObject();
        }
        var good = await ReviewAsync(token);
        Assert.True(good["authenticated"]!.GetValue<bool>());
        Assert.Equal($"system:serviceaccount:{ns}:who", good["user"]!["username"]!.GetValue<string>());
        Assert.False((await ReviewAsync(token, "some-other-audience"))["authenticated"]!.GetValue<bool>());
        Assert.False((await ReviewAsync(token[..^2]))["authenticated"]!.GetValue<bool>());
        var audienced = await TokenRequestAsync(ns, "who", new JsonObject { ["audiences"] = new JsonArray("vault") });
        Assert.True((await ReviewAsync(audienced, "vault"))["authenticated"]!.GetValue<bool>());
        // A token for another audience is no credential for this API server.
        using var elsewhere = InClusterShape(audienced);
        Assert.Equal(HttpStatusCode.Unauthorized, await ListPodsStatusAsync(elsewhere, ns));
    }

    /// <summary>
    /// Expiry, honestly: tokens are timed by the controllers' clock, which <c>--test-clock-speed 60</c> (the existing
    /// test-only facility) runs 60 times faster, so the shortest token the API allows (600 s) ends after about ten
    /// real seconds, plus the one-minute leeway (one real second). The same token works before.
    /// </summary>
    [Fact]
    public async Task Token_StopsWorkingAfterItsExpiry()
    {
        using var dir = new TempDir("sa-expiry-");
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort(), "--test-clock-speed", "60");
        using var http = server.CreateClient();
        await Poll.UntilAsync(async () => (await http.GetAsync("/api/v1/namespaces/default/serviceaccounts/default", Ct)).StatusCode, c => c == HttpStatusCode.OK, Wait, "the default ServiceAccount");
        var r = await http.PostAsync("/api/v1/namespaces/default/serviceaccounts/default/token",
            Json.Body(new JsonObject { ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenRequest", ["spec"] = new JsonObject { ["expirationSeconds"] = 600 } }), Ct);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var token = (await Json.ReadAsync(r))["status"]!["token"]!.GetValue<string>();
        using var client = new Kubernetes(new KubernetesClientConfiguration
        {
            Host = $"https://127.0.0.1:{server.Port}",
            AccessToken = token,
            SslCaCerts = [X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(server.DataDir, "tls", "server-ca.crt")))],
        });
        (await http.PostAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", Json.Body(JsonNode.Parse("""
            {"metadata": {"name": "view"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
             "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]}
            """)!), Ct)).EnsureSuccessStatusCode();
        var started = DateTime.UtcNow;
        await Poll.UntilAsync(() => ListPodsStatusAsync(client, "default"), s => s == HttpStatusCode.OK, Wait, "the RoleBinding to take effect");
        await Poll.UntilAsync(() => ListPodsStatusAsync(client, "default"), s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(60), "the token to expire",
            interval: TimeSpan.FromMilliseconds(500));
        // 600 s + 60 s leeway at speed 60 is 11 real seconds; it must not end much sooner.
        Assert.True(DateTime.UtcNow - started > TimeSpan.FromSeconds(8), $"expired after {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
    }
}
