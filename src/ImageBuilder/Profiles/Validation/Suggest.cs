// "did you mean ...?" by edit distance (Levenshtein with adjacent swaps).
namespace Appliance.ImageBuilder.Profiles.Validation;

/// <summary>Finds the closest known name to a misspelt one.</summary>
public static class Suggest
{
    /// <summary>The closest candidate within a small edit distance, or null.</summary>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = string.Equals(input, c, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(input, c);
            if (d < bestDistance)
            {
                best = c;
                bestDistance = d;
            }
        }
        int allowed = input.Length <= 3 ? 1 : input.Length <= 6 ? 2 : 3;
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>" did you mean 'x'?" or the empty string.</summary>
    public static string Hint(string input, IEnumerable<string> candidates) =>
        Closest(input, candidates) is { } s ? $"; did you mean '{s}'?" : "";

    /// <summary>
    /// Edit distance where insert, delete, substitute and swapping two neighbours each cost 1
    /// (optimal string alignment), so "nmae" is one step from "name".
    /// </summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(d[i - 1, j - 1] + cost, Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
