// Sends each request to the current server and, when it cannot be reached, to the next one.
namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>
/// Rewrites every request to <see cref="ServerList.Current"/> and retries on the next server when the connection
/// fails or a try takes longer than <see cref="AttemptTimeout"/>. A server that answers, even with an error status,
/// is not failed over: the answer is the cluster's. The per-try timeout runs until the response headers arrive, so a
/// watch read with <see cref="HttpCompletionOption.ResponseHeadersRead"/> is not cut by it; a watch whose server dies
/// fails as a broken stream, and the next request goes to the next server.
/// </summary>
public sealed class FailoverHandler(ServerList servers, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    /// <summary>How long one try may take before the next server is tried.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var pathAndQuery = request.RequestUri!.PathAndQuery;
        Exception? last = null;
        var tries = servers.All.Count;
        for (int i = 0; i < tries; i++)
        {
            var server = servers.Current;
            // A sent message cannot be sent again: each try gets its own (the buffered content is shared).
            using var attempt = new HttpRequestMessage(request.Method, new Uri(server, pathAndQuery)) { Content = request.Content, Version = request.Version };
            foreach (var (name, values) in request.Headers) attempt.Headers.TryAddWithoutValidation(name, values);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(AttemptTimeout);
            try
            {
                var response = await base.SendAsync(attempt, timeout.Token);
                attempt.Content = null; // the caller's request owns the content
                return response;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or OperationCanceledException)
            {
                attempt.Content = null;
                last = e;
                servers.Failed(server);
            }
        }
        // A try cut by the timeout says so itself: the exception's own text is only "a task was canceled" (and in the
        // NativeAOT program, which drops the framework's message texts, its resource key).
        var why = last is OperationCanceledException ? $"no answer within {AttemptTimeout.TotalSeconds:0.#} s" : last?.Message;
        throw new HttpRequestException($"no API server answered (tried {string.Join(", ", servers.All)}): {why}", last);
    }
}
