// Binds a merged YNode tree onto the typed model, reporting unknown fields, wrong types and missing fields.
using System.Collections;
using System.Reflection;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Validation;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles.Binding;

/// <summary>
/// Walks a node tree and fills model objects by their <see cref="ProfileFieldAttribute"/> names.
/// Every problem is collected; binding goes on past it so one run reports them all.
/// </summary>
internal sealed class ModelBinder(Func<string, string?> getEnvironment, List<ProfileProblem> problems, Action<string>? log)
{
    /// <summary>The mark of every bound value, by field path.</summary>
    public Dictionary<string, SourceMark> Marks { get; } = new(StringComparer.Ordinal);

    /// <summary>The mark of every mapping key, by field path (for problems about the key itself).</summary>
    public Dictionary<string, SourceMark> KeyMarks { get; } = new(StringComparer.Ordinal);

    /// <summary>Paths whose value was given and bound without error.</summary>
    public HashSet<string> Bound { get; } = new(StringComparer.Ordinal);

    /// <summary>Secret values met while binding: secret fields and secret-named environment variables.</summary>
    public List<string> Secrets { get; } = [];

    /// <summary>The fields of <paramref name="type"/> in declaration order.</summary>
    public static IReadOnlyList<(PropertyInfo Property, ProfileFieldAttribute Field)> FieldsOf(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, p.GetCustomAttribute<ProfileFieldAttribute>()))
            .Where(x => x.Item2 is not null)
            .OrderBy(x => x.p.MetadataToken)
            .Select(x => (x.p, x.Item2!))
            .ToList();

    public T Bind<T>(YNode node) where T : new()
    {
        var target = new T();
        BindObject(target, node, "");
        return target;
    }

    private void BindObject(object target, YNode node, string path)
    {
        Marks[path] = node.Mark;
        if (node is not YMapping map)
        {
            Report(node, path, "a mapping");
            return;
        }
        Bound.Add(path);
        var fields = FieldsOf(target.GetType());
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Entries)
        {
            var childPath = Paths.Child(path, key.Value);
            KeyMarks[childPath] = key.Mark;
            var field = fields.FirstOrDefault(f => f.Field.Name == key.Value);
            if (field.Field is null)
            {
                var names = fields.Select(f => f.Field.Name);
                problems.Add(ProfileProblem.At(key.Mark, childPath, key.Value == "<<"
                    ? "YAML merge keys (<<) are not supported; use extends: to share settings"
                    : $"unknown field '{key.Value}'{Suggest.Hint(key.Value, names)}"));
                continue;
            }
            if (value is YScalar { IsNull: true })
            {
                Marks[childPath] = value.Mark;
                if (field.Field.Required)
                    problems.Add(ProfileProblem.At(value.Mark, childPath, "required field is empty"));
                continue;
            }
            present.Add(field.Field.Name);
            var bound = BindValue(field.Property.PropertyType, value, childPath, field.Field);
            if (bound is not null)
                field.Property.SetValue(target, bound);
        }
        foreach (var (_, f) in fields)
            if (f.Required && !present.Contains(f.Name) && map.Find(f.Name) is null)
                problems.Add(ProfileProblem.At(map.Mark, Paths.Child(path, f.Name), "required field is missing"));
    }

    private object? BindValue(Type type, YNode node, string path, ProfileFieldAttribute? field)
    {
        Marks[path] = node.Mark;
        if (ScalarTypes.IsScalar(type))
            return BindScalar(type, node, path, field);
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            if (node is not YSequence seq)
                return Report(node, path, "a list");
            Bound.Add(path);
            var itemType = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(type)!;
            for (int i = 0; i < seq.Items.Count; i++)
            {
                var item = seq.Items[i];
                var itemPath = Paths.Item(path, i);
                if (item is YScalar { IsNull: true })
                {
                    Marks[itemPath] = item.Mark;
                    Report(item, itemPath, ScalarTypes.Expected(itemType));
                    continue;
                }
                var v = BindValue(itemType, item, itemPath, field);
                if (v is not null)
                    list.Add(v);
            }
            return list;
        }
        if (type == typeof(Dictionary<string, string>))
        {
            if (node is not YMapping map)
                return Report(node, path, "a mapping of names to strings");
            Bound.Add(path);
            var dict = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in map.Entries)
            {
                var entryPath = Paths.Child(path, key.Value);
                KeyMarks[entryPath] = key.Mark;
                if (BindScalar(typeof(string), value, entryPath, field) is string s)
                    dict[key.Value] = s;
            }
            return dict;
        }
        var obj = Activator.CreateInstance(type)!;
        BindObject(obj, node, path);
        return obj;
    }

    private object? BindScalar(Type type, YNode node, string path, ProfileFieldAttribute? field)
    {
        Marks[path] = node.Mark;
        if (node is not YScalar scalar || scalar.IsNull)
            return Report(node, path, ScalarTypes.Expected(type));
        var resolved = EnvReferences.Resolve(scalar.Value, getEnvironment);
        foreach (var (name, value) in resolved.Variables)
        {
            bool secret = field?.Secret == true || EnvReferences.IsSecretName(name);
            if (secret && value.Length > 0)
                Secrets.Add(value);
            log?.Invoke($"{node.Mark}: {path}: read environment variable {name} ({(secret ? "secret, " : "")}{value.Length} characters)");
        }
        if (resolved.Value is null)
        {
            problems.Add(ProfileProblem.At(node.Mark, path, resolved.Error!));
            return null;
        }
        if (field?.Secret == true && resolved.Value.Length > 0)
            Secrets.Add(resolved.Value);
        var dir = new ProfileDirectory(Path.GetDirectoryName(Path.GetFullPath(node.Mark.File)) ?? ".");
        if (!ScalarTypes.TryConvert(type, resolved.Value, dir, out var converted, out var error))
        {
            // A secret must not be echoed back in a message.
            problems.Add(ProfileProblem.At(node.Mark, path, field?.Secret == true ? $"expected {ScalarTypes.Expected(type)}" : error!));
            return null;
        }
        Bound.Add(path);
        return converted;
    }

    private object? Report(YNode node, string path, string expected)
    {
        problems.Add(ProfileProblem.At(node.Mark, path, $"expected {expected}, got {node.KindName}"));
        return null;
    }
}
