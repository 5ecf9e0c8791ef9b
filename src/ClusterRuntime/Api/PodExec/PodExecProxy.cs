// GET /api/v1/namespaces/{ns}/pods/{name}/exec|attach (WebSocket): opens the same WebSocket to the pod's kubelet and relays it.
using Appliance.Common.Pki;
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
/// The pods/exec and pods/attach subresources, and the kubelet dialing that pods/portforward shares. The kubelet
/// WebSocket is opened first, with the subprotocols kubectl offered and the API server's kubelet client certificate;
/// only when it is up is kubectl's request upgraded with the subprotocol the kubelet chose, so a failure to reach the
/// kubelet is still an HTTP Status. Messages are relayed unchanged both ways.
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
        PortForward = new PodPortForward(store, this);
    }

    /// <summary>The pods/portforward subresource.</summary>
    public PodPortForward PortForward { get; }

    /// <summary>Serves one exec or attach (<paramref name="verb"/>); errors before the upgrade are thrown as <see cref="ApiException"/>.</summary>
    public async Task ServeAsync(HttpContext ctx, string ns, string name, string verb = "exec")
    {
        var q = ctx.Request.Query;
        if (verb == "exec" && q["command"].Count == 0) throw ApiException.BadRequest("you must specify at least one command for the container");
        if (!Streams.Any(k => q[k].ToString() is "1" or "true"))
            throw ApiException.BadRequest("you must specify at least one of stdin, stdout, stderr");
        var target = await KubeletTarget.FindAsync(_store, ns, name, q["container"].ToString(), ctx.RequestAborted);
        // After the checks: kubectl retries a failed WebSocket upgrade with SPDY, and should see the first refusal again.
        if (!RemoteCommand.IsUpgrade(ctx))
            throw ApiException.BadRequest($"{verb} is served over WebSocket ({RemoteCommand.V5}) only; SPDY is not supported");
        var query = KubeletTarget.Query(q, verb == "exec" ? Forwarded : Forwarded[1..],
            k => k switch { "stdin" => "input", "stdout" => "output", "stderr" => "error", _ => k });
        using var kubelet = await DialAsync(target.Url(verb, ns, name, query), RemoteCommand.Offered(ctx.Request), verb, ctx.RequestAborted);
        using var client = await RemoteCommand.AcceptAsync(ctx, kubelet.SubProtocol ?? "");
        await RemoteCommand.BridgeAsync(client, kubelet, ctx.RequestAborted);
    }

    /// <summary>
    /// Opens a WebSocket to a kubelet URL. A kubelet that answers 4xx keeps its code; one that cannot be reached is
    /// <c>500 error dialing backend</c>, as kube-apiserver words it.
    /// </summary>
    internal async Task<ClientWebSocket> DialAsync(Uri url, IEnumerable<string> protocols, string verb, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        foreach (var p in protocols) socket.Options.AddSubProtocol(p);
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        try
        {
            await socket.ConnectAsync(new UriBuilder(url) { Scheme = "wss" }.Uri, _http, ct);
            return socket;
        }
        catch (WebSocketException e)
        {
            var code = (int)socket.HttpStatusCode;
            socket.Dispose();
            if (code is >= 400 and < 500)
                throw new ApiException(code, code switch { 400 => "BadRequest", 404 => "NotFound", 403 => "Forbidden", 401 => "Unauthorized", _ => "BadRequest" },
                    $"the kubelet refused the {verb} ({code}) at {url.GetLeftPart(UriPartial.Path)}");
            var reason = e.InnerException is HttpRequestException h ? PodLogProxy.Reason(h) : e.Message;
            throw new ApiException(500, "InternalError", $"error dialing backend: {reason}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Releases the HTTP handler and certificate.</summary>
    public void Dispose()
    {
        _http.Dispose();
        _clientCert.Dispose();
    }
}
