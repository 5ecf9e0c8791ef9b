// The one normaliser of archive member names, for image sources (Store) and layer tars (flattening).
namespace Appliance.ImageBuilder.Oci;

/// <summary>Names of members in image archives and layer tars.</summary>
public static class EntryName
{
    /// <summary>Normalises an archive member name ("./a//b" is "a/b"); rejects absolute names, ".." and NUL.</summary>
    /// <param name="name">The name as stored.</param>
    /// <param name="where">What holds it, for the message.</param>
    public static string Normalize(string name, string where)
    {
        if (name.StartsWith('/'))
            throw new InvalidDataException($"{where}: entry '{name}' has an absolute path");
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p is "" or ".")
                continue;
            if (p == "..")
                throw new InvalidDataException($"{where}: entry '{name}' contains '..'");
            if (p.Contains('\0'))
                throw new InvalidDataException($"{where}: entry '{name}' contains a NUL character");
            parts.Add(p);
        }
        return string.Join('/', parts);
    }
}
