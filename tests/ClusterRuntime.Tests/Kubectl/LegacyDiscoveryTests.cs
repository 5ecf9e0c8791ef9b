// kubectl on the legacy discovery path: a proxy drops the aggregated-discovery Accept types, so kubectl falls back.
using System.Net;
using System.Net.Http.Headers;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class LegacyDiscoveryTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Kubectl_FallsBackToLegacyDiscovery_AndStillWorks()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        using var upstream = fx.Server.CreateClient();
        var requested = new List<string>();
        var port = RuntimeProcess.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        using var stop = new CancellationTokenSource();
        var proxy = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); }
                catch (Exception) when (stop.IsCancellationRequested) { return; }
                catch (HttpListenerException) { return; }
                lock (requested) requested.Add(ctx.Request.Url!.AbsolutePath);
                _ = Task.Run(() => ForwardAsync(ctx, upstream), CancellationToken.None);
            }
        }, Ct);

        var kubeconfig = Path.Combine(dir.Path, "kubeconfig");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: proxy
              cluster:
                server: http://127.0.0.1:{port}
            contexts:
            - name: proxy
              context:
                cluster: proxy
                user: none
            current-context: proxy
            users:
            - name: none
              user: {"{}"}
            """);
        var cache = Path.Combine(dir.Path, "cache");
        Directory.CreateDirectory(cache);
        var k = new Support.Kubectl(kubeconfig, cache);
        try
        {
            var resources = (await k.RunAsync("api-resources")).Ok().Out;
            Assert.Matches(@"(?m)^deployments\s+deploy\s+apps/v1\s+true\s+Deployment", resources);
            Assert.Matches(@"(?m)^configmaps\s+cm\s+v1\s+true\s+ConfigMap", resources);
            (await k.RunAsync("create", "configmap", "legacy-path", "--from-literal=a=b")).Ok();
            Assert.Matches(@"(?m)^legacy-path\s+1\s+", (await k.RunAsync("get", "cm", "legacy-path")).Ok().Out);
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await proxy;
        }
        lock (requested)
        {
            // The legacy path fetches every group/version document; the aggregated path would not.
            Assert.Contains("/api/v1", requested);
            Assert.Contains("/apis/apps/v1", requested);
        }
    }

    /// <summary>Forwards one request upstream (with the admin certificate) without the aggregated-discovery Accept types.</summary>
    static async Task ForwardAsync(HttpListenerContext ctx, HttpClient upstream)
    {
        try
        {
            using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.HttpMethod), ctx.Request.Url!.PathAndQuery);
            var accept = string.Join(",", (ctx.Request.Headers["Accept"] ?? "application/json").Split(',')
                .Where(a => !a.Contains("apidiscovery.k8s.io", StringComparison.Ordinal)));
            request.Headers.TryAddWithoutValidation("Accept", accept.Length == 0 ? "application/json" : accept);
            if (ctx.Request.HasEntityBody)
            {
                using var ms = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(ms);
                request.Content = new ByteArrayContent(ms.ToArray());
                if (ctx.Request.ContentType is { } type) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            }
            using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            ctx.Response.StatusCode = (int)response.StatusCode;
            if (response.Content.Headers.ContentType is { } ct) ctx.Response.ContentType = ct.ToString();
            await using (var body = await response.Content.ReadAsStreamAsync())
                await body.CopyToAsync(ctx.Response.OutputStream);
            ctx.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or HttpRequestException or ObjectDisposedException)
        {
            try { ctx.Response.Abort(); } catch (ObjectDisposedException) { }
        }
    }
}
