// GET /api/v1/namespaces/{ns}/pods/{name}/exec (WebSocket): opens the same WebSocket to the pod's kubelet and relays it.
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.KubeletApi;
using Appliance.ClusterRuntime.Api.PodLogs;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Pki;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.PodExec;

/// <summary>
/// The pods/exec subresource. The kubelet WebSocket is opened first, with the subprotocols kubectl offered and the
/// API server's kubelet client certificate; only when it is up is kubectl's request upgraded with the subprotocol the
/// kubelet chose, so a failure to reach the kubelet is still an HTTP Status. Messages are relayed unchanged both ways.
/// </summary>
public sealed class PodExecProxy : IDisposable
{
    static readonly string[] Streams = ["stdin", "stdout", "stderr"];
    static readonly string[] Forwarded = ["command", .. Streams, "tty"];
    readonly ObjectStore _store;
    readonly X509Certificate2 _clientCert;
    readonly HttpMessageInvoker _http;

    /// <summary>Creates the proxy with the certificate it presents to kubelets and the CA their certificates chain to.</summary>
    public PodExecProxy(ObjectStore store, PemPair kubeletClient, string serverCaPem)
    {
        _store = store;
        _clientCert = kubeletClient.ToCertificate();
        _http = new HttpMessageInvoker(ClusterHttp.Create(serverCaPem, () => _clientCert));
    }

    /// <summary>Serves one request; errors before the upgrade are thrown as <see cref="ApiException"/>.</summary>
    public async Task ServeAsync(HttpContext ctx, string ns, string name)
    {
        var q = ctx.Request.Query;
        if (q["command"].Count == 0) throw ApiException.BadRequest("you must specify at least one command for the container");
        if (!Streams.Any(k => q[k].ToString() is "1" or "true"))
            throw ApiException.BadRequest("you must specify at least one of stdin, stdout, stderr");
        var target = await KubeletTarget.FindAsync(_store, ns, name, q["container"].ToString(), ctx.RequestAborted);
        // After the checks: kubectl retries a failed WebSocket upgrade with SPDY, and should see the first refusal again.
        if (!RemoteCommand.IsUpgrade(ctx))
            throw ApiException.BadRequest($"exec is served over WebSocket ({RemoteCommand.V5}) only; SPDY is not supported");
        var query = KubeletTarget.Query(q, Forwarded, k => k switch { "stdin" => "input", "stdout" => "output", "stderr" => "error", _ => k });
        var url = target.Url("exec", ns, name, query);
        var wss = new UriBuilder(url) { Scheme = "wss" }.Uri;

        using var kubelet = new ClientWebSocket();
        foreach (var p in RemoteCommand.Offered(ctx.Request)) kubelet.Options.AddSubProtocol(p);
        kubelet.Options.CollectHttpResponseDetails = true;
        kubelet.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        try
        {
            await kubelet.ConnectAsync(wss, _http, ctx.RequestAborted);
        }
        catch (WebSocketException e)
        {
            var code = (int)kubelet.HttpStatusCode;
            if (code is >= 400 and < 500)
                throw new ApiException(code, code switch { 400 => "BadRequest", 404 => "NotFound", 403 => "Forbidden", 401 => "Unauthorized", _ => "BadRequest" },
                    $"the kubelet refused the exec ({code}) at {url.GetLeftPart(UriPartial.Path)}");
            var reason = e.InnerException is HttpRequestException h ? PodLogProxy.Reason(h) : e.Message;
            throw new ApiException(500, "InternalError", $"error dialing backend: {reason}");
        }
        using var client = await RemoteCommand.AcceptAsync(ctx, kubelet.SubProtocol ?? "");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        var up = RelayAsync(client, kubelet, stop.Token);
        var down = RelayAsync(kubelet, client, stop.Token);
        // The kubelet ends an exec (Status, then close); kubectl answers the close, or is given a few seconds to.
        var first = await Task.WhenAny(up, down);
        var other = first == up ? down : up;
        try { await other.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        stop.Cancel();
        await Task.WhenAll(up, down); // each relay ends on cancellation without throwing
    }

    /// <summary>Copies messages from one WebSocket to the other until a close, which is passed on.</summary>
    static async Task RelayAsync(WebSocket from, WebSocket to, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await from.ReceiveAsync(buffer, ct);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    if (to.State is WebSocketState.Open or WebSocketState.CloseReceived)
                        await to.CloseOutputAsync(r.CloseStatus ?? WebSocketCloseStatus.NormalClosure, r.CloseStatusDescription, ct);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, ct);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // One side went away without a close: the other is cut too.
            to.Abort();
        }
    }

    /// <summary>Releases the HTTP handler and certificate.</summary>
    public void Dispose()
    {
        _http.Dispose();
        _clientCert.Dispose();
    }
}
