// A watch response: newline-delimited {"type","object"} events streamed from the datastore, with bookmarks and timeout.
using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Tables;
using Appliance.ClusterRuntime.Datastore;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Api;

/// <summary>Serves one watch request until the client leaves, <c>timeoutSeconds</c> passes, or the server stops.</summary>
public sealed class WatchStream(ObjectStore store, RequestInfo ri, ListOptions options, HttpContext ctx, ILogger logger)
{
    /// <summary>Default of <see cref="MaxBufferedBytes"/>: 32 MiB per watcher (see README.md, "Memory").</summary>
    public const long DefaultMaxBufferedBytes = 32L * 1024 * 1024;

    /// <summary>How far (bytes of stored values waiting to be sent) a client may fall behind before its watch is cut off.</summary>
    public long MaxBufferedBytes { get; init; } = DefaultMaxBufferedBytes;

    /// <summary>The authenticated user, for the log line when the watch is cut off.</summary>
    public string User { get; init; } = "unknown";

    /// <summary>How often a BOOKMARK is sent when the client allows them.</summary>
    public static TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(30);

    readonly bool _table = HttpIo.WantsTable(ctx);
    readonly string? _includeObject = ctx.Request.Query["includeObject"];
    bool _tableHeaderSent;

    /// <summary>Runs the watch.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var q = ctx.Request.Query;
        var r = ri.Resource;
        string? rv = q["resourceVersion"];
        bool bookmarks = q["allowWatchBookmarks"] is var b && (b == "true" || b == "1");
        bool sendInitial = q["sendInitialEvents"] == "true";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        if (HttpIo.TimeoutSeconds(ctx) is { } seconds) timeout.CancelAfter(seconds);
        var ct = timeout.Token;

        // A pinned name narrows the datastore prefix to that one key.
        var prefix = r.ListPrefix(ri.Namespace);
        var exactName = options.Fields.ExactName;
        if (exactName is not null && (ri.Namespace is not null || !r.Namespaced)) prefix = r.Key(ri.Namespace, exactName);

        // The initial ADDED events are read and sent chunk by chunk at the first chunk's revision, from which the watch goes on.
        IAsyncEnumerator<(ListPage Page, bool Last)>? initial = null;
        long after;
        if (string.IsNullOrEmpty(rv) || rv == "0" || sendInitial)
        {
            var all = options with { Limit = 0, Continue = null, ResourceVersion = null, ResourceVersionMatch = null };
            initial = store.ListChunksAsync(r, ri.Namespace, all, raw: false, ct).GetAsyncEnumerator(ct);
            await initial.MoveNextAsync();
            after = initial.Current.Page.Revision;
        }
        else after = ObjectStore.ParseRv(rv);
        // A revision the datastore has not reached ends the watch at once with upstream's "Too large resource version".
        var current = await store.Backend.CurrentRevisionAsync(ct);
        var tooLarge = after > current ? ApiException.TooLargeResourceVersion(after, current).ToStatus() : null;

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        await ctx.Response.StartAsync(ct);
        var body = ctx.Response.BodyWriter;

        try
        {
            if (tooLarge is not null)
            {
                await SendAsync("ERROR", tooLarge, ct);
                return;
            }
            if (initial is not null && !await SendInitialAsync(initial, ct)) return;
            if (sendInitial && bookmarks)
                await SendAsync("BOOKMARK", Bookmark(after, initialEventsEnd: true), ct);
            else await body.FlushAsync(ct);

            // A pump takes events from the datastore as they come and queues them for the response; a client that
            // lets more than MaxBufferedBytes pile up is cut off (as upstream's cacher stops a blocked watcher) and
            // re-lists, so a stuck reader costs at most that much memory.
            var queue = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            long queued = 0;
            Exception? failure = null;
            var pump = Task.Run(async () =>
            {
                try
                {
                    await foreach (var ev in store.Backend.WatchAsync(prefix, after, ct).WithCancellation(ct))
                    {
                        var size = WatchBroadcaster.SizeOf(ev);
                        var behind = Interlocked.Add(ref queued, size);
                        if (behind > MaxBufferedBytes)
                        {
                            CutOff(behind);
                            return;
                        }
                        queue.Writer.TryWrite(ev);
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                }
                catch (CompactedException e)
                {
                    failure = e;
                }
                finally
                {
                    queue.Writer.TryComplete();
                }
            }, CancellationToken.None);

            try
            {
                long lastRevision = after;
                Task<bool>? next = null;
                while (!ct.IsCancellationRequested)
                {
                    if (queue.Reader.TryRead(out var ev))
                    {
                        Interlocked.Add(ref queued, -WatchBroadcaster.SizeOf(ev));
                        lastRevision = ev.Kv.ModRevision;
                        var (type, obj) = Translate(ev);
                        if (type is not null) await SendAsync(type, obj!, ct);
                        continue;
                    }
                    next ??= queue.Reader.WaitToReadAsync(ct).AsTask();
                    if (bookmarks)
                    {
                        var done = await Task.WhenAny(next, Task.Delay(BookmarkInterval, ct));
                        if (done != next)
                        {
                            if (ct.IsCancellationRequested) break;
                            await SendAsync("BOOKMARK", Bookmark(lastRevision, false), ct);
                            continue;
                        }
                    }
                    var has = await next;
                    next = null;
                    if (!has) break;
                }
                if (failure is CompactedException compacted) await SendGoneAsync(compacted, ct);
            }
            finally
            {
                await timeout.CancelAsync();
                await pump;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Client left or timeoutSeconds passed: end the stream cleanly.
        }
        finally
        {
            if (initial is not null) await initial.DisposeAsync();
        }
    }

    /// <summary>
    /// Sends the initial list as ADDED events, starting with the chunk <paramref name="chunks"/> is on; false (after an
    /// ERROR event) when a later chunk cannot be read, e.g. because its revision was compacted meanwhile.
    /// </summary>
    async Task<bool> SendInitialAsync(IAsyncEnumerator<(ListPage Page, bool Last)> chunks, CancellationToken ct)
    {
        while (true)
        {
            var (page, last) = chunks.Current;
            foreach (var obj in page.Items) await SendAsync("ADDED", obj, ct);
            if (last) return true;
            try
            {
                if (!await chunks.MoveNextAsync()) return true;
            }
            catch (ApiException e)
            {
                await SendAsync("ERROR", e.ToStatus(), ct);
                return false;
            }
        }
    }

    /// <summary>Ends a watch whose client fell too far behind: the connection (HTTP/1.1) or stream (HTTP/2) is reset.</summary>
    void CutOff(long behind)
    {
        var remote = $"{ctx.Connection.RemoteIpAddress}:{ctx.Connection.RemotePort}";
        logger.LogWarning("watch of {Path}{Query} by {User} from {Remote} cut off: {Behind} bytes waiting, over the {Limit}-byte buffer; the client must re-list",
            ctx.Request.Path, ctx.Request.QueryString, User, remote, behind, MaxBufferedBytes);
        ctx.Abort();
    }

    (string? Type, JsonObject? Obj) Translate(WatchEvent ev)
    {
        var obj = ObjectStore.Decode(ev.Kv);
        bool matched = Matches(obj);
        bool now = ev.Type != WatchEventType.Delete && matched;
        bool before = ev.PrevKv is { } prev ? Matches(ObjectStore.Decode(prev)) : ev.Type != WatchEventType.Create && now;
        obj = ObjectStore.View(ri.Resource, obj);
        return ev.Type switch
        {
            WatchEventType.Create => now ? ("ADDED", obj) : (null, null),
            WatchEventType.Update when now && before => ("MODIFIED", obj),
            WatchEventType.Update when now => ("ADDED", obj),
            WatchEventType.Update when before => ("DELETED", obj),
            WatchEventType.Delete when matched => ("DELETED", obj),
            _ => (null, null),
        };
    }

    bool Matches(JsonObject obj) =>
        (ri.Namespace is null || Meta.Namespace(obj) == ri.Namespace) && ObjectStore.Matches(obj, options);

    JsonObject Bookmark(long revision, bool initialEventsEnd)
    {
        var meta = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) };
        if (initialEventsEnd) meta["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        return new JsonObject { ["kind"] = ri.Resource.Kind, ["apiVersion"] = ri.Resource.ApiVersion, ["metadata"] = meta };
    }

    async Task SendGoneAsync(CompactedException e, CancellationToken ct)
    {
        var status = Status.Failure(410, "Expired", $"too old resource version: {e.Requested} ({e.Compacted + 1})");
        await SendAsync("ERROR", status, ct);
    }

    async Task SendAsync(string type, JsonObject obj, CancellationToken ct)
    {
        JsonNode payload = obj;
        if (_table && type is "ADDED" or "MODIFIED" or "DELETED")
        {
            payload = TableConverter.ToTable(ri.Resource, [obj], Meta.Str(obj, "resourceVersion"), null, _includeObject, store.Clock.GetUtcNow(), withColumns: !_tableHeaderSent);
            _tableHeaderSent = true;
        }
        var body = ctx.Response.BodyWriter;
        await using (var writer = new Utf8JsonWriter(body, Meta.Writer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WritePropertyName("object");
            payload.WriteTo(writer, Meta.Json);
            writer.WriteEndObject();
        }
        body.Write("\n"u8);
        await body.FlushAsync(ct);
    }
}
