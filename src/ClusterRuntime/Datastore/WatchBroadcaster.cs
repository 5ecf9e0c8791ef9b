// Fans each committed event out to the in-process watchers, in the order the writer publishes them.
using System.Threading.Channels;

namespace Appliance.ClusterRuntime.Datastore;

/// <summary>
/// In-process fan-out of committed events. The owner calls <see cref="Publish"/> and
/// <see cref="Subscribe"/> under one lock, so a subscriber knows exactly which revision its stream starts after.
/// A watcher that falls more than its buffer behind is cut off (<see cref="Subscription.Overflowed"/>) and
/// catches up from the log instead, so a slow reader never holds the writer back or grows memory without bound.
/// </summary>
internal sealed class WatchBroadcaster
{
    private readonly object _gate = new();
    private readonly List<Subscription> _subscriptions = [];
    private bool _closed;

    /// <summary>One watcher's buffer.</summary>
    internal sealed class Subscription(string prefix, int capacity)
    {
        /// <summary>Key prefix the watcher asked for.</summary>
        public string Prefix { get; } = prefix;

        /// <summary>Events in revision order.</summary>
        public Channel<WatchEvent> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<WatchEvent>(
            new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

        /// <summary>True when the buffer filled up and the channel was completed early.</summary>
        public volatile bool Overflowed;
    }

    /// <summary>Adds a watcher. Returns a completed subscription when the broadcaster is closed.</summary>
    public Subscription Subscribe(string prefix, int capacity)
    {
        var sub = new Subscription(prefix, capacity);
        lock (_gate)
        {
            if (_closed) sub.Channel.Writer.TryComplete();
            else _subscriptions.Add(sub);
        }
        return sub;
    }

    /// <summary>Removes a watcher.</summary>
    public void Unsubscribe(Subscription sub)
    {
        lock (_gate) _subscriptions.Remove(sub);
        sub.Channel.Writer.TryComplete();
    }

    /// <summary>Hands events (already in revision order) to every matching watcher.</summary>
    public void Publish(IReadOnlyList<WatchEvent> events)
    {
        if (events.Count == 0) return;
        lock (_gate)
        {
            for (var s = _subscriptions.Count - 1; s >= 0; s--)
            {
                var sub = _subscriptions[s];
                foreach (var ev in events)
                {
                    if (!KeyRange.Matches(ev.Kv.Key, sub.Prefix)) continue;
                    if (!sub.Channel.Writer.TryWrite(ev))
                    {
                        sub.Overflowed = true;
                        sub.Channel.Writer.TryComplete();
                        _subscriptions.RemoveAt(s);
                        break;
                    }
                }
            }
        }
    }

    /// <summary>Cuts every watcher off as if it overflowed, so each one catches up from the log again.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            foreach (var sub in _subscriptions)
            {
                sub.Overflowed = true;
                sub.Channel.Writer.TryComplete();
            }
            _subscriptions.Clear();
        }
    }

    /// <summary>Ends every stream (backend shutdown).</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (var sub in _subscriptions) sub.Channel.Writer.TryComplete();
            _subscriptions.Clear();
        }
    }
}
