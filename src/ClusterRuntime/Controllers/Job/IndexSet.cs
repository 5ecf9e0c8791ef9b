// A set of completion indexes and its status form, ordered intervals such as "0-2,5" (status.completedIndexes).
using System.Globalization;

namespace Appliance.ClusterRuntime.Controllers.Job;

/// <summary>Completion indexes of an Indexed Job.</summary>
sealed class IndexSet
{
    readonly SortedSet<int> _items = [];

    /// <summary>How many indexes.</summary>
    public int Count => _items.Count;

    /// <summary>True when <paramref name="index"/> is in the set.</summary>
    public bool Contains(int index) => _items.Contains(index);

    /// <summary>Adds <paramref name="index"/>; false when it was there.</summary>
    public bool Add(int index) => _items.Add(index);

    /// <summary>Parses "0-2,5"; indexes at or past <paramref name="completions"/> and malformed parts are skipped, as upstream does.</summary>
    public static IndexSet Parse(string? text, int completions)
    {
        var set = new IndexSet();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var bounds = part.Split('-');
            if (bounds.Length > 2 || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)) continue;
            var last = first;
            if (bounds.Length == 2 && !int.TryParse(bounds[1], NumberStyles.None, CultureInfo.InvariantCulture, out last)) continue;
            for (var i = first; i <= last && i < completions; i++) set.Add(i);
        }
        return set;
    }

    /// <summary>The interval form, or null when empty.</summary>
    public override string? ToString()
    {
        if (_items.Count == 0) return null;
        var parts = new List<string>();
        int? start = null, prev = null;
        foreach (var i in _items)
        {
            if (prev is int p && i == p + 1) { prev = i; continue; }
            if (start is int s) parts.Add(s == prev ? Str(s) : $"{Str(s)}-{Str(prev!.Value)}");
            start = prev = i;
        }
        parts.Add(start == prev ? Str(start!.Value) : $"{Str(start!.Value)}-{Str(prev!.Value)}");
        return string.Join(',', parts);
    }

    static string Str(int i) => i.ToString(CultureInfo.InvariantCulture);
}
