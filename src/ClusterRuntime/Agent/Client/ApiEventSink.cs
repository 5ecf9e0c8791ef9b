// Events written over the API (the kubelet's): read, count, replace; create when missing.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>An <see cref="IEventSink"/> on the API server, for an <see cref="EventRecorder"/> outside the server process.</summary>
public sealed class ApiEventSink(ApiClient api) : IEventSink
{
    /// <inheritdoc />
    public async Task<EventWrite> RepeatAsync(string ns, string name, string now, string? involvedResourceVersion, CancellationToken ct)
    {
        var path = $"/api/v1/namespaces/{ns}/events/{name}";
        // A replace carries the resourceVersion it read: a concurrent repeat is a 409, and the count is read again.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (await api.GetAsync(path, ct) is not { } ev) return EventWrite.Missing;
            try
            {
                await api.ReplaceAsync(path, IEventSink.CountRepeat(ev, now, involvedResourceVersion), ct);
                return EventWrite.Done;
            }
            catch (ApiStatusException e) when (e.Code == HttpStatusCode.Conflict)
            {
            }
            catch (ApiStatusException e) when (e.Code == HttpStatusCode.NotFound)
            {
                return EventWrite.Missing; // expired between the read and the replace
            }
        }
        return EventWrite.Done; // three writers raced on it: this repeat is dropped, as the correlator may
    }

    /// <inheritdoc />
    public async Task<EventWrite> CreateAsync(string ns, JsonObject ev, CancellationToken ct)
    {
        try
        {
            await api.CreateAsync($"/api/v1/namespaces/{ns}/events", ev, ct);
            return EventWrite.Done;
        }
        catch (ApiStatusException e) when (e.Code == HttpStatusCode.Conflict)
        {
            return EventWrite.Exists;
        }
        catch (ApiStatusException e) when (e.Code is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            return EventWrite.Done; // the namespace is going away
        }
    }
}
