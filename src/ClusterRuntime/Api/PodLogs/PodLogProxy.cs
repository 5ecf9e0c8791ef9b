// GET /api/v1/namespaces/{ns}/pods/{name}/log: finds the pod's node (KubeletTarget) and streams its kubelet's /containerLogs answer.
using Appliance.Common.Pki;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Kubelet.Logs;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Pki;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.PodLogs;

/// <summary>
/// The pods/log subresource. The kubelet is reached at the Node's InternalIP and
/// <c>status.daemonEndpoints.kubeletEndpoint.Port</c>, its serving certificate verified against the server CA, with the
/// API server's kubelet client certificate.
/// </summary>
public sealed class PodLogProxy : IDisposable
{
    static readonly string[] Forwarded = ["follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes"];
    readonly ObjectStore _store;
    readonly HttpClient _http;
    readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _clientCert;

    /// <summary>Creates the proxy with the certificate it presents to kubelets and the CA their certificates chain to.</summary>
    public PodLogProxy(ObjectStore store, PemPair kubeletClient, string serverCaPem)
    {
        _store = store;
        _clientCert = kubeletClient.ToCertificate();
        _http = new HttpClient(ClusterHttp.Create(serverCaPem, () => _clientCert)) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Serves one request; errors before the stream starts are thrown as <see cref="ApiException"/>.</summary>
    public async Task ServeAsync(HttpContext ctx, string ns, string name)
    {
        var q = ctx.Request.Query;
        try
        {
            LogOptions.Parse(n => q.TryGetValue(n, out var v) ? v.ToString() : null, DateTimeOffset.UtcNow);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
        var target = await KubeletTarget.FindAsync(_store, ns, name, q["container"].ToString(), ctx.RequestAborted);
        var url = target.Url("containerLogs", ns, name, KubeletTarget.Query(q, Forwarded));

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(500, "InternalError", $"Get \"{url}\": {Reason(e)}");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var text = (await response.Content.ReadAsStringAsync(ctx.RequestAborted)).Trim();
                if (text.Length > 4096) text = text[..4096];
                var code = (int)response.StatusCode;
                throw new ApiException(code, code switch { 400 => "BadRequest", 404 => "NotFound", 403 => "Forbidden", 401 => "Unauthorized", _ => "InternalError" }, text);
            }
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await using var body = await response.Content.ReadAsStreamAsync(ctx.RequestAborted);
            var buffer = new byte[16 * 1024];
            int n;
            // Copied block by block and flushed each time: a followed log reaches kubectl as the kubelet sends it.
            while ((n = await body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
            {
                await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        }
    }

    /// <summary>The innermost reason a kubelet could not be reached.</summary>
    internal static string Reason(HttpRequestException e)
    {
        var inner = e.InnerException;
        while (inner?.InnerException is not null && inner is not System.Net.Sockets.SocketException) inner = inner.InnerException;
        return inner?.Message ?? e.Message;
    }

    /// <summary>Releases the HTTP client and certificate.</summary>
    public void Dispose()
    {
        _http.Dispose();
        _clientCert.Dispose();
    }
}
